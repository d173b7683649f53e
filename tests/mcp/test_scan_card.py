"""scan_card through the MCP client: real fixture photos, real OCR, real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import shutil

import anyio
import pytest

from tests.conftest import FIXTURES
from tests.helpers import call, call_error

CARDS = FIXTURES / "cards"


def _b64(name: str) -> str:
    return base64.b64encode((CARDS / name).read_bytes()).decode()


async def test_scan_card_saves_a_lead_with_a_followup_due_today(client):
    result = await call(
        client, "scan_card", {"image_base64": _b64("card_012.png"), "tags": ["expo"], "met_at": "Expo"}
    )
    fields = result["fields"]
    assert fields["full_name"] == "Samuel Walsh"
    assert fields["emails"] == ["samuel_walsh@parkside.co.uk"]
    assert set(fields["phones"]) == {"+441212309007", "+447400134549"}
    assert result["engine"] == "tesseract"
    assert result["created"] is True
    contact = result["contact"]
    assert contact["source"] == "card_scan" and contact["tags"] == ["expo"] and contact["met_at"] == "Expo"
    assert result["followup"]["due_at"].startswith("2026-03-10")
    due = await call(client, "list_due_followups", {"within_days": 0})
    assert [item["contact"]["id"] for item in due["items"]] == [contact["id"]]
    assert 0.5 < result["confidence"]["emails"] <= 1 and result["confidence"]["overall"] > 0.5
    image = await client.read_resource(f"lead://scans/{result['scan_id']}.jpg")
    blob = base64.b64decode(image.contents[0].blob)
    assert blob.startswith(b"\xff\xd8") and image.contents[0].mime_type == "image/jpeg"


async def test_scan_card_merges_into_an_existing_contact_instead_of_duplicating(client):
    added = await call(
        client, "add_contact", {"full_name": "Sam Walsh", "email": "samuel_walsh@parkside.co.uk"}
    )
    result = await call(client, "scan_card", {"image_base64": _b64("card_012.png")})
    assert result["created"] is False
    assert result["duplicate_of"] == added["contact"]["id"]
    assert "+447400134549" in result["contact"]["phones"]
    page = await call(client, "search_contacts", {"query": "parkside"})
    assert len(page["items"]) == 1


async def test_scan_card_recognises_the_same_file_scanned_again(client, settings):
    root = settings.scan_roots[0]
    shutil.copy(CARDS / "card_016.png", root / "okafor.png")
    first = await call(client, "scan_card", {"image_path": str(root / "okafor.png")})
    again = await call(client, "scan_card", {"image_path": "okafor.png"})
    assert first["created"] is True and first["fields"]["company"] == "Hollow Oak Software"
    assert again["already_scanned"] is True and again["contact"]["id"] == first["contact"]["id"]
    assert again["fields"] == first["fields"]


async def test_scan_card_scans_a_folder_one_result_per_card_with_progress(client, settings):
    folder = settings.scan_roots[0] / "event"
    folder.mkdir()
    for name in ("card_008.png", "card_019.png"):
        shutil.copy(CARDS / name, folder / name)
    (folder / "notes.txt").write_text("not an image")
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    result = await client.call_tool("scan_card", {"image_path": str(folder)}, progress_callback=on_progress)
    assert not result.is_error
    body = result.structured_content
    assert [c["fields"]["full_name"] for c in body["cards"]] == ["Priya Tanaka", "Hannah Reyes"]
    assert all(c["created"] for c in body["cards"])
    assert [p for p, _, _ in seen][-1] == 2 and seen[-1][1] == 2
    shutil.copy(CARDS / "card_011.png", folder / "card_011.png")
    second = await call(client, "scan_card", {"image_path": str(folder)})
    assert [c["fields"]["full_name"] for c in second["cards"]] == ["Henry Walsh"]
    assert sorted(s["name"] for s in second["skipped"]) == ["card_008.png", "card_019.png"]
    assert all(s["reason"] == "already scanned" for s in second["skipped"])


async def test_scan_card_without_save_stores_nothing(client):
    result = await call(client, "scan_card", {"image_base64": _b64("card_017.png"), "save": False})
    assert result["fields"]["company"] == "Meridian Realty"
    assert result["contact"] is None and result["created"] is None
    page = await call(client, "search_contacts", {})
    assert page["items"] == []


async def test_a_scan_in_progress_does_not_block_other_tool_calls(client, settings):
    folder = settings.scan_roots[0] / "many"
    folder.mkdir()
    for name in ("card_003.png", "card_004.png", "card_005.png", "card_020.png"):
        shutil.copy(CARDS / name, folder / name)
    started = anyio.Event()
    timings: dict[str, float] = {}

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()

    async def scan() -> None:
        await client.call_tool("scan_card", {"image_path": str(folder)}, progress_callback=on_progress)
        timings["scan_done"] = anyio.current_time()

    async with anyio.create_task_group() as tg:
        tg.start_soon(scan)
        await started.wait()
        await call(client, "add_contact", {"full_name": "Quick Person", "email": "quick@example.com"})
        timings["add_done"] = anyio.current_time()
    assert timings["add_done"] < timings["scan_done"]


async def test_scan_card_on_a_picture_without_a_card_invents_nothing(client, tmp_path):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (900, 600), (90, 140, 200))
    draw = ImageDraw.Draw(image)
    for i in range(0, 900, 60):
        draw.ellipse((i, 300 - i // 4, i + 80, 380 - i // 4), fill=(30, 160, 60))
    path = tmp_path / "landscape.png"
    image.save(path)
    result = await call(client, "scan_card", {"image_base64": base64.b64encode(path.read_bytes()).decode()})
    fields = result["fields"]
    assert fields["full_name"] is None and fields["company"] is None and fields["emails"] == []
    assert result["confidence"]["overall"] < 0.3
    assert result["contact"] is None and "Nothing was saved" in result["note"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "image_base64: give exactly one"),
        ({"image_base64": "abc", "image_url": "https://example.com/a.png"}, "give exactly one"),
        ({"image_base64": "not base64 at all!!"}, "image_base64: is not valid base64"),
        (
            {"image_base64": base64.b64encode(b"hello, plain text").decode()},
            "image_base64: is not a PNG, JPEG or WebP",
        ),
        (
            {"image_base64": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode()},
            "image_base64: the image could not be decoded",
        ),
    ],
)
async def test_scan_card_refuses_bad_image_arguments(client, arguments, expected):
    assert expected in await call_error(client, "scan_card", arguments)


async def test_scan_card_refuses_oversized_images_and_decompression_bombs(client, settings, tmp_path):
    from PIL import Image

    big = settings.scan_roots[0] / "huge.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (settings.scan_max_bytes + 10))
    text = await call_error(client, "scan_card", {"image_path": str(big)})
    assert "image_path: is larger than the limit of 15,000,000 bytes" in text

    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb, optimize=True)  # 400 Mpx in a few kB
    assert bomb.stat().st_size < 200_000
    text = await call_error(
        client, "scan_card", {"image_base64": base64.b64encode(bomb.read_bytes()).decode()}
    )
    assert "image_base64: the image" in text and "decompression bomb" in text
    medium = tmp_path / "medium.png"
    Image.new("1", (8_000, 6_000)).save(medium, optimize=True)  # 48 Mpx: over the 40 Mpx limit
    text = await call_error(
        client, "scan_card", {"image_base64": base64.b64encode(medium.read_bytes()).decode()}
    )
    assert "image_base64: the image claims 8000x6000 pixels (48,000,000); the limit is 40,000,000" in text


async def test_scan_card_refuses_paths_outside_the_scan_roots(client, settings, tmp_path):
    root = settings.scan_roots[0]
    secret = tmp_path / "secret.png"
    secret.write_bytes((CARDS / "card_001.png").read_bytes())
    (root / "link.png").symlink_to(secret)
    (root / "sub").mkdir()
    cases = {
        "../secret.png": "may not contain '..'",
        str(root / "sub" / ".." / ".." / "secret.png"): "may not contain '..'",
        str(secret): "is not an image file or folder inside the scan folders",
        str(root / "link.png"): "is not an image file or folder inside the scan folders",
        "/dev/zero": "is not an image file or folder inside the scan folders",
        "/etc/passwd": "is not an image file or folder inside the scan folders",
        str(root / "missing.png"): "is not an image file or folder inside the scan folders",
    }
    for path, expected in cases.items():
        text = await call_error(client, "scan_card", {"image_path": path})
        assert expected in text, (path, text)
        assert "root:" not in text and "Aisha" not in text
    page = await call(client, "search_contacts", {})
    assert page["items"] == []


async def test_scan_card_refuses_a_device_inside_the_scan_roots(client, settings):
    root = settings.scan_roots[0]
    (root / "zero.png").symlink_to("/dev/zero")
    text = await call_error(client, "scan_card", {"image_path": str(root / "zero.png")})
    assert "is not an image file or folder inside the scan folders" in text


async def test_scan_tools_declare_their_annotations(client):
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    scan = tools["scan_card"].annotations
    assert scan.open_world_hint is True and scan.read_only_hint is False and scan.destructive_hint is False
    link = tools["get_scan_link"].annotations
    assert link.read_only_hint is False and link.destructive_hint is False
    assert tools["scan_card"].output_schema["properties"]["fields"]

"""Exchange: contacts out (vCard, CSV) and in (vCard, CSV, LinkedIn, Google Contacts).

``vcard`` and ``tabular`` are the formats (pure functions), ``mapping`` turns a
parsed record into a ContactCreate, ``sources`` reads inline text or a file
under the scan roots, ``imports`` and ``exports`` are the use cases. Imports
and large exports commit in batches, so these services take a ``Transactions``
factory instead of one session (see ``imports``).
"""

from lead_mcp.services.exchange.exports import contact_vcard, export_csv, export_vcard, read_export
from lead_mcp.services.exchange.imports import ImportInterrupted, Transactions, import_contacts
from lead_mcp.services.exchange.sources import ImportSource, resolve_under_roots

__all__ = [
    "ImportInterrupted",
    "ImportSource",
    "Transactions",
    "contact_vcard",
    "export_csv",
    "export_vcard",
    "import_contacts",
    "read_export",
    "resolve_under_roots",
]

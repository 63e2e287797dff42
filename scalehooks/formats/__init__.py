"""Date and time formats of the pages (``FORMAT_MODULE_PATH``): every time an operator or a
customer reads shows its seconds and its zone (UTC), so that attempts seconds apart look apart."""

"""Files of a reader's saved papers (BibTeX, RIS, JSON)."""

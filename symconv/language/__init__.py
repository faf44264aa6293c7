"""Text to the typed intermediate form: the Lark grammar (grammar/symconv.lark) is parsed
(parse), each line's arguments are read against the catalog of layer kinds (catalog,
arguments) and built into the IR (layers, build); values from the Python API and options are
read by the same expression parser (values)."""

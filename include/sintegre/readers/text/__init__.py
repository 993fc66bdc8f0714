"""Text: product files that are text, and the typing of text cells every reader shares.

Bytes to text, text to a table, cells to types, one job per module:

- :mod:`~sintegre.readers.text.encodings`: which encoding a file is in (BOMs, UTF-8, cp1252,
  cp850) and decoding it;
- :mod:`~sintegre.readers.text.layout`: where the table is (delimiter, header rows, first
  data row);
- :mod:`~sintegre.readers.text.delimited`: a CSV/TXT file read whole into a typed table;
- :mod:`~sintegre.readers.text.fixedwidth`: a fixed-width file read with the catalog's layout;
- :mod:`~sintegre.readers.text.streaming`: a big CSV/TXT file to Parquet in bounded memory,
  from the chunks of :mod:`~sintegre.readers.text.batches` (cells decoded per column by
  :mod:`~sintegre.readers.text.transcode`);
- :mod:`~sintegre.readers.text.inference`: a column of text cells typed (integers,
  numbers, dates, booleans or text), with the notations of
  :mod:`~sintegre.readers.text.numbers` and :mod:`~sintegre.readers.text.dates`, checked fast
  by :mod:`~sintegre.readers.text.matching`;
- :mod:`~sintegre.readers.text.headers`: header or data row, column names, kept columns;
- :mod:`~sintegre.readers.text.cells`: spreadsheet cells typed (text cells through
  ``inference``).

The workbook, PDF and layout readers use the typing modules; this package imports no other
reader (a contract in ``pyproject.toml``). Nothing is re-exported here: import from the module.
"""

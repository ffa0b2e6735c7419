"""Stream CSV and Parquet files as pandas chunks that remember their lines.

Each chunk carries its source file and the file line (CSV) or row (Parquet)
of its first row in `frame.attrs`, so conversion errors can name the exact
place of a bad value.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import os
from typing import Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mtzoo.features import DataError

SOURCE_ATTR = "mtzoo_source"
FIRST_LINE_ATTR = "mtzoo_first_line"
LINE_WORD_ATTR = "mtzoo_line_word"

STRING, FLOAT = "string", "float"


@dataclasses.dataclass(frozen=True)
class CsvFormat:
    """How a CSV file is laid out.

    Args:
        delimiter: str. Field separator. Defaults to `","`.
        column_names: list of str. Names of the columns when the file has no
            header line. Defaults to None (the first line is the header).
        null_values: list of str. Values read as missing. Defaults to
            `("",)`: only empty fields. Values such as `"NA"` stay
            ordinary strings (census uses `NA` as a real category).
        strip_whitespace: bool. Strip spaces around string values (census
            separates fields with `", "`). Defaults to True.
        block_size: int. Bytes parsed at a time. Defaults to 4 MiB.
    """

    delimiter: str = ","
    column_names: tuple | None = None
    null_values: tuple = ("",)
    strip_whitespace: bool = True
    block_size: int = 4 << 20

    @property
    def has_header(self) -> bool:
        return self.column_names is None


def _check_exists(path: str) -> None:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such data file: '{path}'")


def _open_text(path: str):
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8",
                                newline="")
    return open(path, encoding="utf-8", newline="")


def csv_header(path: str, fmt: CsvFormat) -> list[str]:
    """Column names of a CSV file."""
    _check_exists(path)
    if not fmt.has_header:
        return list(fmt.column_names)
    with _open_text(path) as f:
        first = next(csv.reader(f, delimiter=fmt.delimiter), None)
    if first is None:
        raise DataError(f"CSV file '{path}' is empty: no header line.")
    return [c.strip() if fmt.strip_whitespace else c for c in first]


def check_csv_columns(path: str, columns, fmt: CsvFormat) -> None:
    """Raises a `DataError` if the CSV file lacks any of `columns`."""
    header = csv_header(path, fmt)
    absent = [c for c in columns if c not in header]
    if absent:
        shown = ", ".join(header[:30]) + (", ..." if len(header) > 30 else "")
        raise DataError(
            f"CSV file '{path}' has no column(s) {absent}. "
            f"Its columns: {shown}")


def check_parquet_columns(path: str, columns) -> list[str]:
    """Raises a `DataError` if the Parquet file lacks any of `columns`."""
    _check_exists(path)
    names = pq.ParquetFile(path).schema_arrow.names
    absent = [c for c in columns if c not in names]
    if absent:
        raise DataError(
            f"Parquet file '{path}' has no column(s) {absent}. "
            f"Its columns: {', '.join(names[:30])}")
    return names


def iter_csv(
    path: str,
    column_types: dict[str, str],
    fmt: CsvFormat = CsvFormat(),
    chunk_rows: int = 65_536,
) -> Iterator:
    """Yields pandas DataFrames of about `chunk_rows` rows from a CSV file.

    Args:
        path: a CSV file, plain or gzip (`.gz`).
        column_types: the columns to read, each `"string"` or `"float"`.
        fmt: the file's `CsvFormat`.
        chunk_rows: rows per yielded chunk (the last may be smaller).

    Raises:
        DataError: naming the file, line and column of a missing column, a
            line with the wrong number of fields or a non-numeric value in a
            numeric column.
    """
    check_csv_columns(path, column_types, fmt)
    arrow_types = {name: pa.string() for name in column_types}
    if not fmt.strip_whitespace:
        arrow_types.update({n: pa.float64() for n, t in column_types.items()
                            if t == FLOAT})
    read_options = pa_csv.ReadOptions(
        column_names=list(fmt.column_names) if fmt.column_names else None,
        block_size=fmt.block_size)
    parse_options = pa_csv.ParseOptions(delimiter=fmt.delimiter)
    convert_options = pa_csv.ConvertOptions(
        include_columns=list(column_types), column_types=arrow_types,
        null_values=list(fmt.null_values), strings_can_be_null=True,
        quoted_strings_can_be_null=True)
    first_line = 2 if fmt.has_header else 1
    try:
        reader = pa_csv.open_csv(path, read_options=read_options,
                                 parse_options=parse_options,
                                 convert_options=convert_options)
        pending, pending_rows = [], 0
        for batch in reader:
            pending.append(_clean(batch, column_types, fmt))
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                chunk, rest = table.slice(0, chunk_rows), table.slice(
                    chunk_rows)
                yield _frame(chunk, path, first_line, "line")
                first_line += chunk.num_rows
                pending = rest.to_batches()
                pending_rows = rest.num_rows
        if pending_rows:
            yield _frame(pa.Table.from_batches(pending), path, first_line,
                         "line")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise _diagnose_csv(path, column_types, fmt, error) from None


def _clean(batch, column_types, fmt):
    if not fmt.strip_whitespace:
        return batch
    columns = []
    for name in batch.schema.names:
        column = pc.utf8_trim_whitespace(batch.column(name))
        if column_types[name] == FLOAT:
            blank = pc.equal(column, "")
            column = pc.if_else(blank, pa.scalar(None, pa.string()), column)
            column = pc.cast(column, pa.float64())
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _frame(table, path, first, word):
    frame = table.to_pandas()
    frame.attrs[SOURCE_ATTR] = path
    frame.attrs[FIRST_LINE_ATTR] = first
    frame.attrs[LINE_WORD_ATTR] = word
    return frame


def _diagnose_csv(path, column_types, fmt, error) -> DataError:
    """Finds the first bad line of a CSV that Arrow refused, slowly."""
    null_values = set(fmt.null_values)
    with _open_text(path) as f:
        rows = csv.reader(f, delimiter=fmt.delimiter)
        header = (list(fmt.column_names) if fmt.column_names
                  else [c.strip() for c in next(rows)])
        positions = {name: header.index(name) for name in column_types}
        for line, row in enumerate(rows, start=1 if fmt.column_names else 2):
            if len(row) != len(header):
                return DataError(
                    f"CSV file '{path}', line {line}: expected "
                    f"{len(header)} fields, found {len(row)}: "
                    f"{fmt.delimiter.join(row)[:200]!r}")
            for name, column_type in column_types.items():
                if column_type != FLOAT:
                    continue
                value = row[positions[name]]
                stripped = value.strip()
                if value in null_values or stripped in null_values:
                    continue
                try:
                    float(stripped)
                except ValueError:
                    return DataError(
                        f"CSV file '{path}', line {line}, column '{name}': "
                        f"expected a number, found {value!r}")
    return DataError(f"CSV file '{path}' could not be read: {error}")


def iter_parquet(
    path: str, columns: Sequence[str], chunk_rows: int = 65_536
) -> Iterator:
    """Yields pandas DataFrames of `chunk_rows` rows from a Parquet file."""
    first_row = 0
    for batch in iter_parquet_batches(path, columns, chunk_rows):
        yield _frame(pa.Table.from_batches([batch]), path, first_row, "row")
        first_row += batch.num_rows


def iter_parquet_batches(
    path: str, columns: Sequence[str], chunk_rows: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """Yields Arrow record batches of `chunk_rows` rows from a Parquet
    file, its columns checked first."""
    check_parquet_columns(path, columns)
    yield from pq.ParquetFile(path).iter_batches(batch_size=chunk_rows,
                                                 columns=list(columns))

# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Column tables on disk: Apache Parquet (with pyarrow) or numpy ``.npz`` (without it).

A table is a mapping of column name -> numpy array with one row per first-axis entry. The
array's shape says what the column holds, in both formats:

- ``(N,)`` numbers, booleans or strings: one value per row;
- ``(N, D)`` numbers or strings: a fixed-length list per row (Parquet ``fixed_size_list`` for
  numbers, ``list<string>`` for strings), as LeRobot stores ``observation.state``;
- ``(N, H, W, 3)`` uint8: an RGB image per row. Parquet holds LeRobot's image struct
  ``{bytes: PNG, path: null}``; ``.npz`` the pixels themselves.

Parquet needs pyarrow, imported only when a Parquet file is written or read; ``.npz`` needs
numpy only (compressed, never pickled). Which one a file is follows from its suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
import importlib
import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import DataError, InputError
from vla_ros.core.images import decode_compressed_image

__all__ = ['TableFormat', 'read_table', 'write_table']


class TableFormat(Enum):
    """A table file format; the value is the file suffix without the dot."""

    PARQUET = 'parquet'
    NPZ = 'npz'

    @property
    def suffix(self) -> str:
        """The file suffix, with the dot."""
        return f'.{self.value}'

    @property
    def available(self) -> bool:
        """Whether this machine can write and read the format (Parquet needs pyarrow)."""
        return self is TableFormat.NPZ or importlib.util.find_spec('pyarrow') is not None

    @classmethod
    def best_available(cls) -> TableFormat:
        """Parquet when pyarrow is installed, else ``.npz``."""
        return cls.PARQUET if cls.PARQUET.available else cls.NPZ

    @classmethod
    def of(cls, path: Path) -> TableFormat:
        """The format of ``path``, from its suffix; DataError for another suffix."""
        for table_format in cls:
            if path.suffix == table_format.suffix:
                return table_format
        raise DataError(f'{path}: not a table file; expected a .parquet or .npz suffix')


def write_table(path: Path, columns: Mapping[str, NDArray[Any]], *,
                pandas_index: str | None = None) -> None:
    """Write ``columns`` (equal first axes) to ``path``, in the format its suffix names.

    Args:
        path: the file to write; its parent directories are created.
        columns: name -> array, see the module docstring for the shapes.
        pandas_index: a string column pandas should read back as the frame's index (Parquet
            only; LeRobot's ``tasks.parquet`` is indexed by task).

    Raises:
        DataError: the rows differ in number, the format is unavailable, or writing failed.
    """
    table_format = TableFormat.of(path)
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f'{path}: columns of different lengths {lengths!r}')
    if not table_format.available:
        raise DataError(f'{path}: writing Parquet needs pyarrow, which is not installed')
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if table_format is TableFormat.NPZ:
            np.savez_compressed(path, **columns)  # type: ignore[arg-type]
        else:
            _write_parquet(path, columns, pandas_index)
    except OSError as err:
        raise DataError(f'{path}: cannot write: {err}') from err


def read_table(path: Path) -> dict[str, NDArray[Any]]:
    """Read every column of the table file ``path``.

    Raises:
        DataError: the file is missing or unreadable, or Parquet without pyarrow.
    """
    table_format = TableFormat.of(path)
    if not table_format.available:
        raise DataError(f'{path}: reading Parquet needs pyarrow, which is not installed')
    try:
        if table_format is TableFormat.NPZ:
            with np.load(path, allow_pickle=False) as arrays:
                return {name: arrays[name] for name in arrays.files}
        return _read_parquet(path)
    except (OSError, ValueError, InputError) as err:
        raise DataError(f'{path}: cannot read the table: {err}') from err


def _png(image: NDArray[np.uint8]) -> bytes:
    from PIL import Image  # only image columns in Parquet need Pillow

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG')
    return buffer.getvalue()


def _arrow_column(pa: Any, values: NDArray[Any]) -> Any:
    if values.ndim == 4:
        struct = pa.struct([('bytes', pa.binary()), ('path', pa.string())])
        return pa.array([{'bytes': _png(image), 'path': None} for image in values], type=struct)
    if values.dtype.kind == 'U':
        kind = pa.string() if values.ndim == 1 else pa.list_(pa.string())
        return pa.array(values.tolist(), type=kind)
    if values.ndim == 1:
        return pa.array(values)
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def _write_parquet(path: Path, columns: Mapping[str, NDArray[Any]],
                   pandas_index: str | None) -> None:
    pa = importlib.import_module('pyarrow')
    parquet = importlib.import_module('pyarrow.parquet')
    table = pa.table({name: _arrow_column(pa, values) for name, values in columns.items()})
    if pandas_index is not None:
        table = table.replace_schema_metadata({b'pandas': json.dumps(
            _pandas_metadata(columns, pandas_index)).encode()})
    parquet.write_table(table, str(path))


def _pandas_metadata(columns: Mapping[str, NDArray[Any]], index: str) -> dict[str, Any]:
    """What pandas stores next to a frame, so it restores ``index`` as the index."""
    entries = [{'name': name, 'field_name': name, 'metadata': None,
                'pandas_type': 'unicode' if values.dtype.kind == 'U' else str(values.dtype),
                'numpy_type': 'object' if values.dtype.kind == 'U' else str(values.dtype)}
               for name, values in columns.items()]
    return {'index_columns': [index], 'column_indexes': [], 'columns': entries,
            'creator': {'library': 'vla_ros', 'version': '0.1.0'}, 'pandas_version': '2.2.0'}


def _read_parquet(path: Path) -> dict[str, NDArray[Any]]:
    pa = importlib.import_module('pyarrow')
    parquet = importlib.import_module('pyarrow.parquet')
    table = parquet.read_table(str(path))
    return {name: _numpy_column(pa, table.column(name).combine_chunks())
            for name in table.column_names}


def _numpy_column(pa: Any, column: Any) -> NDArray[Any]:
    kind = column.type
    if pa.types.is_struct(kind):
        return np.stack([decode_compressed_image(data, where='parquet image')
                         for data in column.field('bytes').to_pylist()])
    if pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind):
        if pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type):
            return np.array(column.to_pylist(), dtype=str)
        return np.asarray(column.flatten().to_numpy(zero_copy_only=False)).reshape(
            len(column), -1)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.array(column.to_pylist(), dtype=str)
    return np.asarray(column.to_numpy(zero_copy_only=False))

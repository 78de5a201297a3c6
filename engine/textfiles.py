"""Text files brought from office PCs: UTF-8 (with or without the byte-order mark Excel writes for "CSV UTF-8") or
GBK, what Chinese Excel writes for plain "CSV". Every importer of text decodes through here, so a file that opens in
Excel imports everywhere the same way."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from engine.validation import DataInvalid

# UTF-8 first: GB18030 (a superset of GBK) decodes many byte sequences, valid UTF-8 among them, to the wrong text.
ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(raw: bytes, name: str) -> str:
    """`raw` as text (UTF-8, else GB18030); DataInvalid naming `name` (the file) when it is neither."""
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        # NUL decodes in both, but no text file has one: UTF-16, a workbook or other binary data.
        if "\x00" not in text:
            return text
        break
    raise DataInvalid({"file": f"{name} 不是 UTF-8 或 GBK（GB18030）编码的文本文件，请在 Excel 中另存为“CSV UTF-8”"
                                "后重试"}, "文件编码无法识别，未导入任何数据")


def read_text(path: str | PathLike[str]) -> str:
    """The text of the file at `path` (see decode_text); DataInvalid naming the file when it cannot be read."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataInvalid({"file": f"无法读取 {path}：{exc.strerror or exc}"}, "文件无法读取") from exc
    return decode_text(raw, str(path))

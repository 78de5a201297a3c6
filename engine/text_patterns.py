"""What free text may hold, as JSON Schema patterns the forms, openapi.json and the HTML inputs publish, with the
message each refusal gives (engine.validation maps a failed pattern to it)."""

from __future__ import annotations

# Characters no free text may hold, invisible yet able to change what a reader sees: C0 and C1 controls, DEL,
# the Arabic letter mark, zero-width spaces and joiners, the left-to-right and right-to-left marks, the line and
# paragraph separators, the bidi embeddings and overrides (U+202E shows "gpj.exe" as "exe.jpg"), word joiners and
# invisible operators, the bidi isolates, the deprecated format controls and the byte-order mark.
_INVISIBLE = r"\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_NOT_TEXT = r"\x00-\x1f\x7f-\x9f" + _INVISIBLE
# In a note of several lines, tab, line feed and carriage return are text.
_NOT_NOTE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _INVISIBLE
# A name or title: at least one visible character and none of _NOT_TEXT, which would break notices, exports and
# logs or disguise what they say. Blanks, then one visible character, then anything allowed: the first two classes
# do not overlap, so a long value costs linear time.
TEXT_PATTERN = rf"^[^\S{_NOT_TEXT}]*[^\s{_NOT_TEXT}][^{_NOT_TEXT}]*$"
# A reason, a finding, a comment (a textarea): the same, with line breaks and tabs allowed.
NOTE_PATTERN = rf"^[^\S{_NOT_NOTE}]*[^\s{_NOT_TEXT}][^{_NOT_NOTE}]*$"
# Optional fields (may be empty): none of _NOT_TEXT (a line) or _NOT_NOTE (a note) either.
OPTIONAL_TEXT_PATTERN = rf"^[^{_NOT_TEXT}]*$"
OPTIONAL_NOTE_PATTERN = rf"^[^{_NOT_NOTE}]*$"
# A user's name (engine.accounts checks new names with it; a form that names another user publishes it).
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{2,64}$"
# What TEXT_PATTERN was, and the bare "\S" forms used for a reason: the process versions of running cases carry them
# in their stored schemas, and their refusals keep a clear message.
_LEGACY_TEXT_PATTERNS = (
    r"^[^\S\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f\u2028\u2029]*$",
    r"\S",
)

TEXT_MESSAGE = "须含有文字，且不能含换行、控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"
NOTE_MESSAGE = "须含有文字，且不能含控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"
OPTIONAL_NOTE_MESSAGE = "不能含控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"
OPTIONAL_TEXT_MESSAGE = "不能含换行、控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"
USERNAME_MESSAGE = "用户名须为2-64位字母、数字或 _ . -"
TEXT_PATTERN_MESSAGES = {
    TEXT_PATTERN: TEXT_MESSAGE,
    NOTE_PATTERN: NOTE_MESSAGE,
    OPTIONAL_NOTE_PATTERN: OPTIONAL_NOTE_MESSAGE,
    OPTIONAL_TEXT_PATTERN: OPTIONAL_TEXT_MESSAGE,
    USERNAME_PATTERN: USERNAME_MESSAGE,
    **dict.fromkeys(_LEGACY_TEXT_PATTERNS, "须含有文字"),
}

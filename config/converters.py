"""Path converters shared by every URL module."""


class DatabaseIdConverter:
    """A positive integer that fits a bigint primary key.

    ``<int:...>`` accepts any number of digits, and one past 2**63 reached the
    database and answered 500 (OverflowError); longer ones are simply not found.
    """

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)

"""Tables drawn the way nova-manage draws them (prettytable's default style).

Operators' scripts parse nova-manage's tables, so the text must match to
the character: columns as wide as their widest cell plus one space each
side, centred unless said otherwise, with centring that puts the odd
space where Python's str.center puts it. Wide (East Asian) characters
count as two columns, as prettytable counts them.
"""
import unicodedata


def display_width(text):
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in (
                "Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def _pad(text, width, align):
    excess = width - display_width(text)
    if excess <= 0:
        return text
    if align == "l":
        return text + " " * excess
    if align == "r":
        return " " * excess + text
    # str.center's rule: the odd space goes left when both the excess and
    # the target width are odd, otherwise right.
    left = excess // 2 + (excess & width & 1)
    return " " * left + text + " " * (excess - left)


def cell_text(value):
    return "%s" % (value,)


def render(headers, rows, align="c"):
    """The table as one string (no trailing newline), like print(table).

    align is one letter for every column, or a string with one letter per
    column: "l", "c" or "r".
    """
    if len(align) == 1:
        align = align * len(headers)
    body = [[cell_text(value) for value in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in body:
        for index, text in enumerate(row):
            for line in text.split("\n"):
                widths[index] = max(widths[index], display_width(line))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule, _line(headers, widths, align), rule]
    for row in body:
        lines.extend(_cell_lines(row, widths, align))
    lines.append(rule)
    return "\n".join(lines)


def _line(cells, widths, align):
    return "|" + "|".join(" %s " % _pad(text, width, how)
                          for text, width, how in zip(cells, widths, align)) \
        + "|"


def _cell_lines(row, widths, align):
    """A row whose cells hold newlines spans several lines, top-aligned."""
    split = [text.split("\n") for text in row]
    height = max(len(parts) for parts in split) if split else 1
    return [_line([parts[i] if i < len(parts) else "" for parts in split],
                  widths, align)
            for i in range(height)]

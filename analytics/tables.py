"""What every analytics figure is handed out as: a table of columns and rows (the page shows it, the chart is
drawn from it, the CSV export and the API return it), so a chart never shows a number its table does not."""

import csv
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse

ONE_PLACE = Decimal("0.1")
TWO_PLACES = Decimal("0.01")


@dataclass
class Column:
    key: str
    label: str
    kind: str = "int"  # int | fen (money in fen) | pct (a percentage) | ratio | days | text | date


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict]
    # How the page draws it: {"type": "bar" | "line" | "heatmap", "x": column key, "series": [column keys]}.
    chart: dict | None = None
    note: str = ""

    def cells(self) -> list[list[tuple[object, str, str]]]:
        """Rows as (raw value, shown text, kind) per column, for the template."""
        return [[(row.get(c.key), shown(row.get(c.key), c.kind), c.kind) for c in self.columns] for row in self.rows]


@dataclass
class Report:
    tables: list[Table] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)


def rate(part: int, whole: int) -> Decimal | None:
    """part / whole as a percentage with one decimal; None when there is no whole to divide by."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_PLACE, ROUND_HALF_UP)


def ratio(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(TWO_PLACES, ROUND_HALF_UP)


def plain(value, kind: str) -> str:
    """The value as a plain figure (CSV): fen as yuan with two decimals, no signs or units."""
    if value is None:
        return ""
    if kind == "fen":
        return str((Decimal(value) / 100).quantize(TWO_PLACES))
    if kind == "days":
        return str(Decimal(str(value)).quantize(ONE_PLACE, ROUND_HALF_UP))
    return str(value)


def shown(value, kind: str) -> str:
    """The value as the page shows it."""
    if value is None:
        return "—"
    if kind == "fen":
        return f"¥{plain(value, kind)}"
    if kind == "pct":
        return f"{value}%"
    return plain(value, kind)


def csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese correctly only with the BOM
    writer = csv.writer(response)
    writer.writerow([str(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow([plain(row.get(c.key), c.kind) for c in table.columns])
    return response


def as_json(report: Report) -> dict:
    """The report for the API: raw values (money in fen, percentages as numbers)."""
    return {
        "tables": [
            {
                "key": t.key,
                "title": str(t.title),
                "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in t.columns],
                "rows": [{c.key: _json_value(row.get(c.key)) for c in t.columns} for row in t.rows],
                "chart": t.chart,
            }
            for t in report.tables
        ]
    }


def _json_value(value):
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral() else int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if value is None or isinstance(value, int | float | str) else str(value)

"""The pictures of the graph: exact Mermaid text, escaping, the SVG layout, and the top-symbols table."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mnemo_dagster.graph.diagrams import (
    markdown_cell,
    mermaid_label,
    module_graph_mermaid,
    module_graph_svg,
    repository_sections,
    svg_image,
    top_symbols_table,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_module_graph_is_a_fenced_flowchart_with_solid_imports_and_dotted_calls() -> None:
    modules = [("shop/checkout.py", 0.31), ("shop/models.py", 0.22), ("web/cart.ts", 0.1)]
    links = [
        ("shop/checkout.py", "shop/models.py", True, 3),
        ("web/cart.ts", "shop/checkout.py", False, 1),
        ("web/cart.ts", "web/format.ts", True, 2),  # target not drawn: left out
        ("shop/models.py", "shop/models.py", True, 1),  # a self-link says nothing
    ]

    assert module_graph_mermaid(modules, links) == (
        "```mermaid\n"
        "flowchart LR\n"
        '  m0["shop/checkout.py"]\n'
        '  m1["shop/models.py"]\n'
        '  m2["web/cart.ts"]\n'
        "  m0 --> m1\n"
        "  m2 -.-> m0\n"
        "```"
    )


def test_labels_turn_syntax_characters_into_entity_codes() -> None:
    assert mermaid_label("src/app.py") == '"src/app.py"'
    assert mermaid_label('we"ird #1 <a&b>.py') == '"we#34;ird #35;1 #60;a#38;b#62;.py"'
    assert mermaid_label("x`[y]{z}|w\\v.ts") == '"x#96;#91;y#93;#123;z#125;#124;w#92;v.ts"'
    assert mermaid_label("tab\there.py") == '"tab#9;here.py"'
    assert mermaid_label("café/naïve.py") == '"café/naïve.py"'  # other text stays readable


def test_an_odd_path_cannot_break_out_of_the_label_or_the_fence() -> None:
    odd = 'a"] --> evil["```'
    text = module_graph_mermaid([(odd, 1.0)], [])
    assert text == '```mermaid\nflowchart LR\n  m0["a#34;#93; --#62; evil#91;#34;#96;#96;#96;"]\n```'
    assert text.count("```") == 2


def test_an_empty_graph_is_an_empty_flowchart() -> None:
    assert module_graph_mermaid([], []) == "```mermaid\nflowchart LR\n```"


def test_top_symbols_table_keeps_the_order_and_escapes_cells() -> None:
    rows = [
        ("shop/checkout.py::Checkout.place_order", "method", 0.123456, 4),
        ("web/a|b.ts::pick", "function", 0.05, 0),
    ]
    assert top_symbols_table(rows) == (
        "| symbol | PageRank | in-degree | kind |\n"
        "|---|---:|---:|---|\n"
        "| `shop/checkout.py::Checkout.place_order` | 0.1235 | 4 | method |\n"
        "| `web/a\\|b.ts::pick` | 0.0500 | 0 | function |"
    )


def test_markdown_cell_keeps_backticks_inside_the_code_span() -> None:
    assert markdown_cell("a`b.py") == "``a`b.py``"
    assert markdown_cell("`x`") == "`` `x` ``"


def test_sections_get_one_heading_per_repository() -> None:
    assert repository_sections([("shop", "table A"), ("web", "table B")]) == (
        "### shop\n\ntable A\n\n### web\n\ntable B"
    )


def _svg(modules: list[tuple[str, float]], links: list[tuple[str, str, bool, int]]) -> ET.Element:
    return ET.fromstring(module_graph_svg(modules, links))


def _boxes(svg: ET.Element) -> dict[str, tuple[float, float]]:
    """Label -> (left, top) of every module box."""
    boxes = {}
    for group in svg.iter(f"{SVG}g"):
        rect, text = group.find(f"{SVG}rect"), group.find(f"{SVG}text")
        assert rect is not None and text is not None
        boxes[text.text or ""] = (float(rect.get("x", 0)), float(rect.get("y", 0)))
    return boxes


def test_svg_puts_a_module_left_of_what_it_depends_on_and_a_cycle_in_one_column() -> None:
    modules = [("a.py", 0.4), ("b.py", 0.3), ("c.py", 0.2), ("d.py", 0.1), ("lonely.md", 0.0)]
    links = [("a.py", "b.py", True, 1), ("b.py", "c.py", True, 1), ("c.py", "b.py", True, 1)]
    links.append(("a.py", "d.py", False, 2))
    svg = _svg(modules, links)

    boxes = _boxes(svg)
    assert set(boxes) == {"a.py", "b.py", "c.py", "d.py", "lonely.md"}
    assert (
        boxes["a.py"][0] == boxes["lonely.md"][0] < boxes["b.py"][0] == boxes["c.py"][0] == boxes["d.py"][0]
    )
    arrows = [p for p in svg.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(arrows) == 4
    assert [p.get("stroke-dasharray") for p in arrows].count("4 3") == 1  # a.py only calls d.py


def test_svg_labels_are_escaped_text() -> None:
    odd = 'we"ird <a&b>\t.py'
    svg = _svg([(odd, 1.0)], [])
    assert list(_boxes(svg)) == ['we"ird <a&b>\ufffd.py']  # a tab is not allowed in XML: replaced


def test_an_empty_svg_is_still_a_picture() -> None:
    assert _boxes(_svg([], [])) == {}


def test_svg_image_is_a_markdown_image_with_a_data_uri() -> None:
    text = svg_image("<svg/>", "module graph of [shop]")
    assert text == "![module graph of shop](data:image/svg+xml;base64,PHN2Zy8+)"

"""Symbols and graph edges of Erlang, Elixir, Haskell and OCaml.

Each case parses a real-shaped fixture folder (``fixtures/languages/<folder>``) with the language's
tags query and builds the graph as the indexer does; chunks and edges must match exactly.
"""

from __future__ import annotations

import pytest

from mnemo_dagster_tests.extract.language_cases import Case, check_case

CASES = [
    Case(
        "erlang",
        "erlang",
        chunks=[
            ("src/shop.hrl", "class", "order"),
            ("src/shop_log.erl", "function", "info"),
            ("src/shop_log.erl", "function", "debug"),
            ("src/shop_order.erl", "function", "start_link"),
            ("src/shop_order.erl", "function", "place"),
            ("src/shop_order.erl", "function", "validate"),
            ("src/shop_order.erl", "function", "validate"),
            ("src/shop_order.erl", "function", "init"),
            ("src/shop_order.erl", "function", "handle_call"),
        ],
        edges={
            ("contains", "src/shop.hrl", "src/shop.hrl::order"),
            ("contains", "src/shop_log.erl", "src/shop_log.erl::debug"),
            ("contains", "src/shop_log.erl", "src/shop_log.erl::info"),
            ("calls", "src/shop_log.erl::debug", "src/shop_log.erl::info"),
            ("imports", "src/shop_order.erl", "src/shop.hrl"),
            ("imports", "src/shop_order.erl", "src/shop_log.erl"),
            ("contains", "src/shop_order.erl", "src/shop_order.erl::handle_call"),
            ("contains", "src/shop_order.erl", "src/shop_order.erl::init"),
            ("contains", "src/shop_order.erl", "src/shop_order.erl::place"),
            ("contains", "src/shop_order.erl", "src/shop_order.erl::start_link"),
            ("contains", "src/shop_order.erl", "src/shop_order.erl::validate"),
            ("calls", "src/shop_order.erl::handle_call", "src/shop_log.erl::info"),
            ("calls", "src/shop_order.erl::place", "src/shop_order.erl::validate"),
        },
    ),
    Case(
        "elixir",
        "elixir",
        chunks=[
            ("lib/shop/order.ex", "class", "Shop.Order"),
            ("lib/shop/order_service.ex", "class", "Shop.OrderService"),
        ],
        edges={
            ("contains", "lib/shop/order.ex", "lib/shop/order.ex::Shop.Order"),
            ("contains", "lib/shop/order.ex::Shop.Order", "lib/shop/order.ex::Shop.Order.valid?"),
            ("imports", "lib/shop/order_service.ex", "lib/shop/order.ex"),
            ("contains", "lib/shop/order_service.ex", "lib/shop/order_service.ex::Shop.OrderService"),
            (
                "contains",
                "lib/shop/order_service.ex::Shop.OrderService",
                "lib/shop/order_service.ex::Shop.OrderService.place",
            ),
            (
                "contains",
                "lib/shop/order_service.ex::Shop.OrderService",
                "lib/shop/order_service.ex::Shop.OrderService.start_link",
            ),
            (
                "contains",
                "lib/shop/order_service.ex::Shop.OrderService",
                "lib/shop/order_service.ex::Shop.OrderService.store",
            ),
            (
                "calls",
                "lib/shop/order_service.ex::Shop.OrderService.place",
                "lib/shop/order.ex::Shop.Order.valid?",
            ),
            (
                "calls",
                "lib/shop/order_service.ex::Shop.OrderService.place",
                "lib/shop/order_service.ex::Shop.OrderService.store",
            ),
        },
    ),
    Case(
        "haskell",
        "haskell",
        chunks=[
            ("src/Shop/Order.hs", "interface", "Priced"),
            ("src/Shop/Order.hs", "class", "Order"),
            ("src/Shop/Order.hs", "block", "Order"),
            ("src/Shop/Order.hs", "function", "isValid"),
            ("src/Shop/Service.hs", "interface", "Orders"),
            ("src/Shop/Service.hs", "function", "placeOrder"),
            ("src/Shop/Service.hs", "function", "total"),
            ("src/Shop/Service.hs", "function", "describe"),
        ],
        edges={
            ("contains", "src/Shop/Order.hs", "src/Shop/Order.hs::Order"),
            ("contains", "src/Shop/Order.hs", "src/Shop/Order.hs::Priced"),
            ("contains", "src/Shop/Order.hs", "src/Shop/Order.hs::isValid"),
            ("contains", "src/Shop/Order.hs::Order", "src/Shop/Order.hs::Order.price"),
            ("inherits", "src/Shop/Order.hs::Order", "src/Shop/Order.hs::Priced"),
            ("imports", "src/Shop/Service.hs", "src/Shop/Order.hs"),
            ("contains", "src/Shop/Service.hs", "src/Shop/Service.hs::Orders"),
            ("contains", "src/Shop/Service.hs", "src/Shop/Service.hs::describe"),
            ("contains", "src/Shop/Service.hs", "src/Shop/Service.hs::placeOrder"),
            ("contains", "src/Shop/Service.hs", "src/Shop/Service.hs::total"),
            ("calls", "src/Shop/Service.hs::placeOrder", "src/Shop/Order.hs::isValid"),
            ("calls", "src/Shop/Service.hs::placeOrder", "src/Shop/Service.hs::describe"),
        },
    ),
    Case(
        "ocaml",
        "ocaml",
        chunks=[
            ("lib/order.ml", "interface", "t"),
            ("lib/order.ml", "function", "is_valid"),
            ("lib/order.ml", "function", "price"),
            ("lib/order.ml", "class", "Format"),
            ("lib/service.ml", "function", "place"),
            ("lib/service.ml", "function", "total"),
            ("lib/service.ml", "class", "ledger"),
        ],
        edges={
            ("contains", "lib/order.ml", "lib/order.ml::Format"),
            ("contains", "lib/order.ml", "lib/order.ml::is_valid"),
            ("contains", "lib/order.ml", "lib/order.ml::price"),
            ("contains", "lib/order.ml", "lib/order.ml::t"),
            ("contains", "lib/order.ml::Format", "lib/order.ml::Format.describe"),
            ("imports", "lib/service.ml", "lib/order.ml"),
            ("contains", "lib/service.ml", "lib/service.ml::ledger"),
            ("contains", "lib/service.ml", "lib/service.ml::place"),
            ("contains", "lib/service.ml", "lib/service.ml::total"),
            ("contains", "lib/service.ml::ledger", "lib/service.ml::ledger.add"),
            ("contains", "lib/service.ml::ledger", "lib/service.ml::ledger.add_all"),
            ("contains", "lib/service.ml::ledger", "lib/service.ml::ledger.reset"),
            ("contains", "lib/service.ml::ledger", "lib/service.ml::ledger.sum"),
            ("calls", "lib/service.ml::ledger.add", "lib/service.ml::place"),
            ("calls", "lib/service.ml::ledger.reset", "lib/service.ml::ledger.add_all"),
            ("calls", "lib/service.ml::ledger.sum", "lib/service.ml::total"),
            ("calls", "lib/service.ml::place", "lib/order.ml::Format.describe"),
            ("calls", "lib/service.ml::place", "lib/order.ml::is_valid"),
            ("calls", "lib/service.ml::total", "lib/order.ml::price"),
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.language)
def test_symbols_chunks_and_edges(case: Case) -> None:
    check_case(case)

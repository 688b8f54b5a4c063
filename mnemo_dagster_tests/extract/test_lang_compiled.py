"""Symbols and graph edges of C++, C#, Kotlin, Scala and Objective-C (C: test_languages_many.py).

Each case parses a real-shaped fixture folder (``fixtures/languages/<folder>``) with the language's
tags query and builds the graph as the indexer does; chunks and edges must match exactly.
"""

from __future__ import annotations

import pytest

from mnemo_dagster_tests.extract.language_cases import Case, check_case

CASES = [
    Case(
        "cpp",
        "cpp",
        chunks=[
            ("include/shop/repository.hpp", "class", "Repository"),
            ("include/shop/repository.hpp", "class", "Cache"),
            ("src/order_service.cpp", "class", "MemoryRepository"),
            ("src/order_service.cpp", "method", "OrderService.OrderService"),
            ("src/order_service.cpp", "method", "OrderService.place"),
            ("src/order_service.cpp", "method", "OrderService.validate"),
            ("src/order_service.cpp", "function", "make_service"),
            ("src/order_service.hpp", "class", "Order"),
            ("src/order_service.hpp", "class", "OrderService"),
        ],
        edges={
            ("contains", "include/shop/repository.hpp", "include/shop/repository.hpp::Cache"),
            ("contains", "include/shop/repository.hpp", "include/shop/repository.hpp::Repository"),
            ("contains", "include/shop/repository.hpp::Cache", "include/shop/repository.hpp::Cache.has"),
            ("imports", "src/order_service.cpp", "include/shop/repository.hpp"),
            ("contains", "src/order_service.cpp", "src/order_service.cpp::MemoryRepository"),
            ("contains", "src/order_service.cpp", "src/order_service.cpp::OrderService.OrderService"),
            ("contains", "src/order_service.cpp", "src/order_service.cpp::OrderService.place"),
            ("contains", "src/order_service.cpp", "src/order_service.cpp::OrderService.validate"),
            ("contains", "src/order_service.cpp", "src/order_service.cpp::make_service"),
            ("imports", "src/order_service.cpp", "src/order_service.hpp"),
            (
                "inherits",
                "src/order_service.cpp::MemoryRepository",
                "include/shop/repository.hpp::Repository",
            ),
            (
                "contains",
                "src/order_service.cpp::MemoryRepository",
                "src/order_service.cpp::MemoryRepository.put",
            ),
            (
                "calls",
                "src/order_service.cpp::OrderService.place",
                "src/order_service.cpp::MemoryRepository.put",
            ),
            (
                "calls",
                "src/order_service.cpp::OrderService.place",
                "src/order_service.cpp::OrderService.validate",
            ),
            ("calls", "src/order_service.cpp::OrderService.place", "src/order_service.hpp::Order.describe"),
            ("imports", "src/order_service.hpp", "include/shop/repository.hpp"),
            ("contains", "src/order_service.hpp", "src/order_service.hpp::Order"),
            ("contains", "src/order_service.hpp", "src/order_service.hpp::OrderService"),
            ("contains", "src/order_service.hpp::Order", "src/order_service.hpp::Order.describe"),
        },
    ),
    Case(
        "c_sharp",
        "c_sharp",
        chunks=[
            ("Models/User.cs", "interface", "IValidatable"),
            ("Models/User.cs", "class", "Role"),
            ("Models/User.cs", "class", "User"),
            ("Services/UserService.cs", "class", "ServiceBase"),
            ("Services/UserService.cs", "class", "UserService"),
        ],
        edges={
            ("contains", "Models/User.cs", "Models/User.cs::IValidatable"),
            ("contains", "Models/User.cs", "Models/User.cs::Role"),
            ("contains", "Models/User.cs", "Models/User.cs::User"),
            ("contains", "Models/User.cs::IValidatable", "Models/User.cs::IValidatable.IsValid"),
            ("inherits", "Models/User.cs::User", "Models/User.cs::IValidatable"),
            ("contains", "Models/User.cs::User", "Models/User.cs::User.IsValid"),
            ("contains", "Models/User.cs::User", "Models/User.cs::User.User"),
            ("imports", "Services/UserService.cs", "Models/User.cs"),
            ("contains", "Services/UserService.cs", "Services/UserService.cs::ServiceBase"),
            ("contains", "Services/UserService.cs", "Services/UserService.cs::UserService"),
            ("contains", "Services/UserService.cs::ServiceBase", "Services/UserService.cs::ServiceBase.Log"),
            ("inherits", "Services/UserService.cs::UserService", "Services/UserService.cs::ServiceBase"),
            (
                "contains",
                "Services/UserService.cs::UserService",
                "Services/UserService.cs::UserService.Register",
            ),
            (
                "contains",
                "Services/UserService.cs::UserService",
                "Services/UserService.cs::UserService.Validate",
            ),
            ("calls", "Services/UserService.cs::UserService.Register", "Models/User.cs::User"),
            (
                "calls",
                "Services/UserService.cs::UserService.Register",
                "Services/UserService.cs::ServiceBase.Log",
            ),
            (
                "calls",
                "Services/UserService.cs::UserService.Register",
                "Services/UserService.cs::UserService.Validate",
            ),
        },
    ),
    Case(
        "kotlin",
        "kotlin",
        chunks=[
            ("src/main/kotlin/com/example/model/User.kt", "class", "User"),
            ("src/main/kotlin/com/example/model/User.kt", "interface", "Repository"),
            ("src/main/kotlin/com/example/model/User.kt", "class", "Role"),
            ("src/main/kotlin/com/example/service/UserService.kt", "class", "InMemoryRepository"),
            ("src/main/kotlin/com/example/service/UserService.kt", "class", "UserService"),
            ("src/main/kotlin/com/example/service/UserService.kt", "class", "Services"),
        ],
        edges={
            (
                "contains",
                "src/main/kotlin/com/example/model/User.kt",
                "src/main/kotlin/com/example/model/User.kt::Repository",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/model/User.kt",
                "src/main/kotlin/com/example/model/User.kt::Role",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/model/User.kt",
                "src/main/kotlin/com/example/model/User.kt::User",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/model/User.kt::Repository",
                "src/main/kotlin/com/example/model/User.kt::Repository.save",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/model/User.kt::User",
                "src/main/kotlin/com/example/model/User.kt::User.isValid",
            ),
            (
                "imports",
                "src/main/kotlin/com/example/service/UserService.kt",
                "src/main/kotlin/com/example/model/User.kt",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/service/UserService.kt",
                "src/main/kotlin/com/example/service/UserService.kt::InMemoryRepository",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/service/UserService.kt",
                "src/main/kotlin/com/example/service/UserService.kt::Services",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/service/UserService.kt",
                "src/main/kotlin/com/example/service/UserService.kt::UserService",
            ),
            (
                "inherits",
                "src/main/kotlin/com/example/service/UserService.kt::InMemoryRepository",
                "src/main/kotlin/com/example/model/User.kt::Repository",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/service/UserService.kt::InMemoryRepository",
                "src/main/kotlin/com/example/service/UserService.kt::InMemoryRepository.save",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/service/UserService.kt::Services",
                "src/main/kotlin/com/example/service/UserService.kt::Services.default",
            ),
            (
                "calls",
                "src/main/kotlin/com/example/service/UserService.kt::Services.default",
                "src/main/kotlin/com/example/service/UserService.kt::InMemoryRepository",
            ),
            (
                "calls",
                "src/main/kotlin/com/example/service/UserService.kt::Services.default",
                "src/main/kotlin/com/example/service/UserService.kt::UserService",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/service/UserService.kt::UserService",
                "src/main/kotlin/com/example/service/UserService.kt::UserService.register",
            ),
            (
                "contains",
                "src/main/kotlin/com/example/service/UserService.kt::UserService",
                "src/main/kotlin/com/example/service/UserService.kt::UserService.validate",
            ),
            (
                "calls",
                "src/main/kotlin/com/example/service/UserService.kt::UserService.register",
                "src/main/kotlin/com/example/model/User.kt::User",
            ),
            (
                "calls",
                "src/main/kotlin/com/example/service/UserService.kt::UserService.register",
                "src/main/kotlin/com/example/service/UserService.kt::InMemoryRepository.save",
            ),
            (
                "calls",
                "src/main/kotlin/com/example/service/UserService.kt::UserService.register",
                "src/main/kotlin/com/example/service/UserService.kt::UserService.validate",
            ),
            (
                "calls",
                "src/main/kotlin/com/example/service/UserService.kt::UserService.validate",
                "src/main/kotlin/com/example/model/User.kt::User.isValid",
            ),
        },
    ),
    Case(
        "scala",
        "scala",
        chunks=[
            ("src/main/scala/shop/model/Order.scala", "interface", "Priced"),
            ("src/main/scala/shop/model/Order.scala", "class", "Order"),
            ("src/main/scala/shop/model/Order.scala", "class", "Order"),
            ("src/main/scala/shop/service/OrderService.scala", "class", "Service"),
            ("src/main/scala/shop/service/OrderService.scala", "class", "OrderService"),
        ],
        edges={
            (
                "contains",
                "src/main/scala/shop/model/Order.scala",
                "src/main/scala/shop/model/Order.scala::Order",
            ),
            (
                "contains",
                "src/main/scala/shop/model/Order.scala",
                "src/main/scala/shop/model/Order.scala::Priced",
            ),
            (
                "contains",
                "src/main/scala/shop/model/Order.scala::Order",
                "src/main/scala/shop/model/Order.scala::Order.isValid",
            ),
            (
                "contains",
                "src/main/scala/shop/model/Order.scala::Order",
                "src/main/scala/shop/model/Order.scala::Order.price",
            ),
            (
                "contains",
                "src/main/scala/shop/model/Order.scala::Order",
                "src/main/scala/shop/model/Order.scala::Order.single",
            ),
            (
                "inherits",
                "src/main/scala/shop/model/Order.scala::Order",
                "src/main/scala/shop/model/Order.scala::Priced",
            ),
            (
                "calls",
                "src/main/scala/shop/model/Order.scala::Order.single",
                "src/main/scala/shop/model/Order.scala::Order",
            ),
            (
                "imports",
                "src/main/scala/shop/service/OrderService.scala",
                "src/main/scala/shop/model/Order.scala",
            ),
            (
                "contains",
                "src/main/scala/shop/service/OrderService.scala",
                "src/main/scala/shop/service/OrderService.scala::OrderService",
            ),
            (
                "contains",
                "src/main/scala/shop/service/OrderService.scala",
                "src/main/scala/shop/service/OrderService.scala::Service",
            ),
            (
                "contains",
                "src/main/scala/shop/service/OrderService.scala::OrderService",
                "src/main/scala/shop/service/OrderService.scala::OrderService.place",
            ),
            (
                "contains",
                "src/main/scala/shop/service/OrderService.scala::OrderService",
                "src/main/scala/shop/service/OrderService.scala::OrderService.placeSingle",
            ),
            (
                "contains",
                "src/main/scala/shop/service/OrderService.scala::OrderService",
                "src/main/scala/shop/service/OrderService.scala::OrderService.validate",
            ),
            (
                "inherits",
                "src/main/scala/shop/service/OrderService.scala::OrderService",
                "src/main/scala/shop/service/OrderService.scala::Service",
            ),
            (
                "calls",
                "src/main/scala/shop/service/OrderService.scala::OrderService.place",
                "src/main/scala/shop/service/OrderService.scala::OrderService.validate",
            ),
            (
                "calls",
                "src/main/scala/shop/service/OrderService.scala::OrderService.place",
                "src/main/scala/shop/service/OrderService.scala::Service.log",
            ),
            (
                "calls",
                "src/main/scala/shop/service/OrderService.scala::OrderService.placeSingle",
                "src/main/scala/shop/model/Order.scala::Order.single",
            ),
            (
                "calls",
                "src/main/scala/shop/service/OrderService.scala::OrderService.placeSingle",
                "src/main/scala/shop/service/OrderService.scala::OrderService.place",
            ),
            (
                "contains",
                "src/main/scala/shop/service/OrderService.scala::Service",
                "src/main/scala/shop/service/OrderService.scala::Service.log",
            ),
        },
    ),
    Case(
        "objc",
        "objc",
        chunks=[
            ("Sources/Account.m", "interface", "Auditable"),
            ("Sources/Account.m", "class", "Account"),
            ("Sources/Account.m", "class", "Account"),
            ("Sources/Ledger.m", "function", "ledger_record"),
        ],
        edges={
            ("contains", "Sources/Account.m", "Sources/Account.m::Account"),
            ("contains", "Sources/Account.m", "Sources/Account.m::Auditable"),
            ("imports", "Sources/Account.m", "Sources/Ledger.h"),
            ("contains", "Sources/Account.m::Account", "Sources/Account.m::Account.auditDescription"),
            ("contains", "Sources/Account.m::Account", "Sources/Account.m::Account.deposit"),
            ("contains", "Sources/Account.m::Account", "Sources/Account.m::Account.initWithOwner"),
            ("contains", "Sources/Account.m::Account", "Sources/Account.m::Account.validate"),
            ("inherits", "Sources/Account.m::Account", "Sources/Account.m::Auditable"),
            ("calls", "Sources/Account.m::Account.deposit", "Sources/Account.m::Account.validate"),
            ("calls", "Sources/Account.m::Account.deposit", "Sources/Ledger.m::ledger_record"),
            ("imports", "Sources/Ledger.m", "Sources/Ledger.h"),
            ("contains", "Sources/Ledger.m", "Sources/Ledger.m::ledger_record"),
        },
        also=("c",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.language)
def test_symbols_chunks_and_edges(case: Case) -> None:
    check_case(case)

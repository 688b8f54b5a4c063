"""Symbols and graph edges of Ruby, PHP, Lua, shell scripts, Perl, R and Julia.

Each case parses a real-shaped fixture folder (``fixtures/languages/<folder>``) with the language's
tags query and builds the graph as the indexer does; chunks and edges must match exactly.
"""

from __future__ import annotations

import pytest

from mnemo_dagster_tests.extract.language_cases import Case, check_case

CASES = [
    Case(
        "ruby",
        "ruby",
        chunks=[
            ("lib/billing/invoice.rb", "class", "Billing"),
            ("lib/billing/invoice_service.rb", "class", "Billing"),
        ],
        edges={
            ("contains", "lib/billing/invoice.rb", "lib/billing/invoice.rb::Billing"),
            ("contains", "lib/billing/invoice.rb::Billing", "lib/billing/invoice.rb::Billing.Invoice"),
            ("contains", "lib/billing/invoice.rb::Billing", "lib/billing/invoice.rb::Billing.LineItem"),
            (
                "contains",
                "lib/billing/invoice.rb::Billing.Invoice",
                "lib/billing/invoice.rb::Billing.Invoice.initialize",
            ),
            (
                "contains",
                "lib/billing/invoice.rb::Billing.Invoice",
                "lib/billing/invoice.rb::Billing.Invoice.total",
            ),
            (
                "contains",
                "lib/billing/invoice.rb::Billing.LineItem",
                "lib/billing/invoice.rb::Billing.LineItem.initialize",
            ),
            ("imports", "lib/billing/invoice_service.rb", "lib/billing/invoice.rb"),
            ("contains", "lib/billing/invoice_service.rb", "lib/billing/invoice_service.rb::Billing"),
            (
                "contains",
                "lib/billing/invoice_service.rb::Billing",
                "lib/billing/invoice_service.rb::Billing.BaseService",
            ),
            (
                "contains",
                "lib/billing/invoice_service.rb::Billing",
                "lib/billing/invoice_service.rb::Billing.InvoiceService",
            ),
            (
                "contains",
                "lib/billing/invoice_service.rb::Billing.BaseService",
                "lib/billing/invoice_service.rb::Billing.BaseService.log",
            ),
            (
                "inherits",
                "lib/billing/invoice_service.rb::Billing.InvoiceService",
                "lib/billing/invoice_service.rb::Billing.BaseService",
            ),
            (
                "contains",
                "lib/billing/invoice_service.rb::Billing.InvoiceService",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.build",
            ),
            (
                "contains",
                "lib/billing/invoice_service.rb::Billing.InvoiceService",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.check",
            ),
            (
                "contains",
                "lib/billing/invoice_service.rb::Billing.InvoiceService",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.default",
            ),
            (
                "calls",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.build",
                "lib/billing/invoice.rb::Billing.Invoice",
            ),
            (
                "calls",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.build",
                "lib/billing/invoice.rb::Billing.Invoice.total",
            ),
            (
                "calls",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.build",
                "lib/billing/invoice.rb::Billing.LineItem",
            ),
            (
                "calls",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.build",
                "lib/billing/invoice_service.rb::Billing.BaseService.log",
            ),
            (
                "calls",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.build",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.check",
            ),
            (
                "calls",
                "lib/billing/invoice_service.rb::Billing.InvoiceService.check",
                "lib/billing/invoice.rb::Billing.Invoice.total",
            ),
        },
    ),
    Case(
        "php",
        "php",
        chunks=[
            ("src/Models/User.php", "interface", "Validatable"),
            ("src/Models/User.php", "class", "User"),
            ("src/Services/UserService.php", "class", "Service"),
            ("src/Services/UserService.php", "class", "UserService"),
            ("src/Services/UserService.php", "function", "default_service"),
        ],
        edges={
            ("contains", "src/Models/User.php", "src/Models/User.php::User"),
            ("contains", "src/Models/User.php", "src/Models/User.php::Validatable"),
            ("contains", "src/Models/User.php::User", "src/Models/User.php::User.__construct"),
            ("contains", "src/Models/User.php::User", "src/Models/User.php::User.isValid"),
            ("contains", "src/Models/User.php::User", "src/Models/User.php::User.name"),
            ("inherits", "src/Models/User.php::User", "src/Models/User.php::Validatable"),
            ("contains", "src/Models/User.php::Validatable", "src/Models/User.php::Validatable.isValid"),
            ("imports", "src/Services/UserService.php", "src/Models/User.php"),
            ("contains", "src/Services/UserService.php", "src/Services/UserService.php::Service"),
            ("contains", "src/Services/UserService.php", "src/Services/UserService.php::UserService"),
            ("contains", "src/Services/UserService.php", "src/Services/UserService.php::default_service"),
            (
                "contains",
                "src/Services/UserService.php::Service",
                "src/Services/UserService.php::Service.log",
            ),
            (
                "inherits",
                "src/Services/UserService.php::UserService",
                "src/Services/UserService.php::Service",
            ),
            (
                "contains",
                "src/Services/UserService.php::UserService",
                "src/Services/UserService.php::UserService.register",
            ),
            (
                "contains",
                "src/Services/UserService.php::UserService",
                "src/Services/UserService.php::UserService.validate",
            ),
            ("calls", "src/Services/UserService.php::UserService.register", "src/Models/User.php::User"),
            ("calls", "src/Services/UserService.php::UserService.register", "src/Models/User.php::User.name"),
            (
                "calls",
                "src/Services/UserService.php::UserService.register",
                "src/Services/UserService.php::Service.log",
            ),
            (
                "calls",
                "src/Services/UserService.php::UserService.register",
                "src/Services/UserService.php::UserService.validate",
            ),
            (
                "calls",
                "src/Services/UserService.php::default_service",
                "src/Services/UserService.php::UserService",
            ),
        },
    ),
    Case(
        "lua",
        "lua",
        chunks=[
            ("app/account.lua", "class", "Account"),
            ("app/account.lua", "method", "Account.new"),
            ("app/account.lua", "method", "Account.deposit"),
            ("app/bank.lua", "function", "open_account"),
            ("app/bank.lua", "function", "transfer"),
            ("app/log.lua", "class", "M"),
            ("app/log.lua", "method", "M.info"),
        ],
        edges={
            ("contains", "app/account.lua", "app/account.lua::Account"),
            ("contains", "app/account.lua::Account", "app/account.lua::Account.deposit"),
            ("contains", "app/account.lua::Account", "app/account.lua::Account.new"),
            ("imports", "app/bank.lua", "app/account.lua"),
            ("contains", "app/bank.lua", "app/bank.lua::open_account"),
            ("contains", "app/bank.lua", "app/bank.lua::transfer"),
            ("imports", "app/bank.lua", "app/log.lua"),
            ("calls", "app/bank.lua::open_account", "app/account.lua::Account.deposit"),
            ("calls", "app/bank.lua::open_account", "app/account.lua::Account.new"),
            ("calls", "app/bank.lua::transfer", "app/account.lua::Account.deposit"),
            ("calls", "app/bank.lua::transfer", "app/log.lua::M.info"),
            ("contains", "app/log.lua", "app/log.lua::M"),
            ("contains", "app/log.lua::M", "app/log.lua::M.info"),
        },
    ),
    Case(
        "shell",
        "bash",
        chunks=[
            ("deploy.sh", "function", "build"),
            ("deploy.sh", "function", "deploy"),
            ("deploy.sh", "function", "upload"),
            ("lib/log.sh", "function", "log_info"),
            ("lib/log.sh", "function", "die"),
        ],
        edges={
            ("contains", "deploy.sh", "deploy.sh::build"),
            ("calls", "deploy.sh", "deploy.sh::deploy"),
            ("contains", "deploy.sh", "deploy.sh::deploy"),
            ("contains", "deploy.sh", "deploy.sh::upload"),
            ("imports", "deploy.sh", "lib/log.sh"),
            ("calls", "deploy.sh::build", "lib/log.sh::log_info"),
            ("calls", "deploy.sh::deploy", "deploy.sh::build"),
            ("calls", "deploy.sh::deploy", "deploy.sh::upload"),
            ("calls", "deploy.sh::deploy", "lib/log.sh::die"),
            ("contains", "lib/log.sh", "lib/log.sh::die"),
            ("contains", "lib/log.sh", "lib/log.sh::log_info"),
            ("calls", "lib/log.sh::die", "lib/log.sh::log_info"),
        },
    ),
    Case(
        "perl",
        "perl",
        chunks=[
            ("lib/Shop/Order.pm", "function", "new"),
            ("lib/Shop/Order.pm", "function", "is_valid"),
            ("lib/Shop/Service.pm", "function", "place"),
            ("lib/Shop/Service.pm", "function", "record"),
            ("lib/Shop/Service.pm", "function", "log_line"),
        ],
        edges={
            ("contains", "lib/Shop/Order.pm", "lib/Shop/Order.pm::is_valid"),
            ("contains", "lib/Shop/Order.pm", "lib/Shop/Order.pm::new"),
            ("imports", "lib/Shop/Service.pm", "lib/Shop/Order.pm"),
            ("contains", "lib/Shop/Service.pm", "lib/Shop/Service.pm::log_line"),
            ("contains", "lib/Shop/Service.pm", "lib/Shop/Service.pm::place"),
            ("contains", "lib/Shop/Service.pm", "lib/Shop/Service.pm::record"),
            ("calls", "lib/Shop/Service.pm::place", "lib/Shop/Order.pm::is_valid"),
            ("calls", "lib/Shop/Service.pm::place", "lib/Shop/Order.pm::new"),
            ("calls", "lib/Shop/Service.pm::place", "lib/Shop/Service.pm::record"),
            ("calls", "lib/Shop/Service.pm::record", "lib/Shop/Service.pm::log_line"),
        },
    ),
    Case(
        "r",
        "r",
        chunks=[
            ("R/report.R", "function", "revenue_by_customer"),
            ("R/report.R", "function", "top_customers"),
            ("R/validate.R", "function", "is_valid_order"),
            ("R/validate.R", "function", "assert_orders"),
        ],
        edges={
            ("contains", "R/report.R", "R/report.R::revenue_by_customer"),
            ("contains", "R/report.R", "R/report.R::top_customers"),
            ("imports", "R/report.R", "R/validate.R"),
            ("calls", "R/report.R::revenue_by_customer", "R/validate.R::assert_orders"),
            ("calls", "R/report.R::top_customers", "R/report.R::revenue_by_customer"),
            ("contains", "R/validate.R", "R/validate.R::assert_orders"),
            ("contains", "R/validate.R", "R/validate.R::is_valid_order"),
            ("calls", "R/validate.R::assert_orders", "R/validate.R::is_valid_order"),
        },
    ),
    Case(
        "julia",
        "julia",
        chunks=[
            ("src/Shop.jl", "block", "Shop"),
            ("src/orders.jl", "interface", "Priced"),
            ("src/orders.jl", "class", "Order"),
            ("src/orders.jl", "function", "price"),
            ("src/orders.jl", "function", "isvalid"),
        ],
        edges={
            ("contains", "src/Shop.jl", "src/Shop.jl::Shop.Store"),
            ("contains", "src/Shop.jl", "src/Shop.jl::Shop.place!"),
            ("contains", "src/Shop.jl", "src/Shop.jl::Shop.total"),
            ("imports", "src/Shop.jl", "src/orders.jl"),
            ("calls", "src/Shop.jl::Shop.place!", "src/orders.jl::isvalid"),
            ("contains", "src/orders.jl", "src/orders.jl::Order"),
            ("contains", "src/orders.jl", "src/orders.jl::Priced"),
            ("contains", "src/orders.jl", "src/orders.jl::isvalid"),
            ("contains", "src/orders.jl", "src/orders.jl::price"),
            ("inherits", "src/orders.jl::Order", "src/orders.jl::Priced"),
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.language)
def test_symbols_chunks_and_edges(case: Case) -> None:
    check_case(case)

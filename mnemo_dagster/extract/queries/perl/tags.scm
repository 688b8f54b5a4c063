; Perl tags. Subs are functions (packages do not prefix them: "package X;" is a statement, not a
; block). "use A::B;" imports A/B.pm (pragmas such as strict are left out); a function call or a
; method call ("$obj->m", "A::B->new") is a call of its name.

(function_definition name: (identifier) @name.definition.function) @definition.function

(call_expression function_name: (identifier) @name.reference.call) @reference.call
(method_invocation function_name: (identifier) @name.reference.call) @reference.call

(use_no_statement
  (package_name) @import.module
  (#not-match? @import.module "^(strict|warnings|utf8|feature|constant|lib|vars|integer|overload|mro)$")) @reference.import
(require_statement (package_name) @import.module) @reference.import

; Context for chunking: comments above a definition join its chunk.
(comments) @comment

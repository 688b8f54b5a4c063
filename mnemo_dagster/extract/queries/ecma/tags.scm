; Patterns shared by JavaScript, TypeScript and TSX (each includes this file with "; inherits: ecma").
; Every pattern here must compile against all three grammars. Class methods are method_definition
; nodes directly in a class_body; export_statement and single-declarator variable declarations
; around a definition are added to its range in code.

(function_declaration
  name: (identifier) @name.definition.function) @definition.function
(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function

; const f = () => ... / const f = function () {...}
(variable_declarator
  name: (identifier) @name.definition.function
  value: [(arrow_function) (function) (generator_function)]) @definition.function

(class_declaration
  name: (_) @name.definition.class) @definition.class
(variable_declarator
  name: (identifier) @name.definition.class
  value: (class)) @definition.class

(class_body
  (method_definition
    name: [(property_identifier) (private_property_identifier)] @name.definition.method) @definition.method)

(call_expression
  function: [
    (identifier) @name.reference.call
    (member_expression property: [(property_identifier) (private_property_identifier)] @name.reference.call)
  ]) @reference.call
(new_expression
  constructor: [
    (identifier) @name.reference.call
    (member_expression property: (property_identifier) @name.reference.call)
  ]) @reference.call

; import x from "m"
(import_statement
  (import_clause (identifier) @import.default)
  source: (string) @import.module) @reference.import
; import * as ns from "m"
(import_statement
  (import_clause (namespace_import (identifier) @import.alias) @import.star)
  source: (string) @import.module) @reference.import
; import {a, b as c} from "m"
(import_statement
  (import_clause (named_imports (import_specifier
    name: (_) @import.name
    alias: (_)? @import.alias)))
  source: (string) @import.module) @reference.import
; import "m" (a fallback: kept only when no other pattern matched the statement)
(import_statement
  source: (string) @import.module @import.fallback) @reference.import

; export {a, b as c} from "m" / export * from "m"
(export_statement
  (export_clause (export_specifier
    name: (_) @import.name
    alias: (_)? @import.alias))
  source: (string) @import.module) @reference.import
(export_statement
  "*" @import.star
  source: (string) @import.module) @reference.import

; const x = require("m") / const {a, b: c} = require("m") (bindings expanded in code), require("m"),
; import("m")
(variable_declarator
  name: (_) @import.binding
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string) @import.module)
    (#eq? @_require "require")) @reference.import @import.require)
(call_expression
  function: (identifier) @_require
  arguments: (arguments . (string) @import.module @import.fallback)
  (#eq? @_require "require")) @reference.import @import.require
(call_expression
  function: (import)
  arguments: (arguments . (string) @import.module)) @reference.import @import.star

; Context for chunking: comments above a definition join its chunk; wrappers join its range.
(comment) @comment
[(export_statement) (lexical_declaration) (variable_declaration)] @wrapper

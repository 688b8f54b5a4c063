; Julia tags. A module prefixes the paths of what it holds ("Shop.place!") but is not a symbol;
; functions (long and short form), structs (classes) and abstract types (interfaces). "struct A <: B"
; inherits B. using/import of a module and include("file.jl") are imports; a docstring above a
; definition joins its chunk.

(module_definition name: (identifier) @name.namespace) @namespace
(function_definition name: (identifier) @name.definition.function) @definition.function
(short_function_definition name: (identifier) @name.definition.function) @definition.function
(struct_definition name: (identifier) @name.definition.class) @definition.class
(abstract_definition name: (identifier) @name.definition.interface) @definition.interface

(struct_definition (type_clause (identifier) @name.reference.inherits))
(abstract_definition (type_clause (identifier) @name.reference.inherits))

(call_expression
  .
  [
    (identifier) @name.reference.call
    (field_expression (identifier) @name.reference.call .)
  ]) @reference.call

(import_statement (identifier) @import.module) @reference.import
(import_statement (selected_import . (identifier) @import.module (identifier) @import.name)) @reference.import
(call_expression
  . (identifier) @_include
  (argument_list . (string_literal) @import.module .)
  (#eq? @_include "include")) @reference.import

; Context for chunking: comments and docstrings above a definition join its chunk.
(line_comment) @comment
(source_file (string_literal) @comment)
(module_definition (string_literal) @comment)

; Lua tags. "function T.f()" and "function T:m()" are methods of T (the table as receiver); a
; capitalised table assigned "{}" at its declaration ("local Account = {}") is a class.
; require("a.b") / require "a.b" imports a/b.lua (or a/b/init.lua).

(function_definition_statement name: (identifier) @name.definition.function) @definition.function
(local_function_definition_statement name: (identifier) @name.definition.function) @definition.function
(function_definition_statement
  name: (variable
    table: (identifier) @scope.receiver
    [field: (identifier) method: (identifier)] @name.definition.method)) @definition.method

(local_variable_declaration
  (variable_list . (variable name: (identifier) @name.definition.class) .)
  (expression_list . value: (table) .)
  (#match? @name.definition.class "^[A-Z]")) @definition.class

(call
  function: (variable
    [name: (identifier) field: (identifier) method: (identifier)] @name.reference.call)) @reference.call

(call
  function: (variable name: (identifier) @_require)
  arguments: (argument_list (expression_list . (string) @import.module))
  (#eq? @_require "require")) @reference.import
(call
  function: (variable name: (identifier) @_require)
  arguments: (argument_list . (string) @import.module)
  (#eq? @_require "require")) @reference.import

; Context for chunking: comments above a definition join its chunk.
(comment) @comment

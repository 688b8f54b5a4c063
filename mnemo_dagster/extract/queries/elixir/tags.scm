; Elixir tags. defmodule is a class named by its full alias ("Shop.Order"), so its functions are
; methods with paths like "Shop.Order.valid?"; def/defp/defmacro/defguard heads name functions
; (a head is not a call). alias/import/require/use of a module imports it (Shop.Order -> shop/order.ex).

(call
  target: (identifier) @_keyword
  (arguments . (alias) @name.definition.class)
  (#eq? @_keyword "defmodule")) @definition.class
(call
  target: (identifier) @_keyword
  (arguments . (alias) @name.definition.interface)
  (#eq? @_keyword "defprotocol")) @definition.interface
(call
  target: (identifier) @_keyword
  (arguments
    .
    [
      (call target: (identifier) @name.definition.function)
      (identifier) @name.definition.function
      (binary_operator left: (call target: (identifier) @name.definition.function))
      (binary_operator left: (identifier) @name.definition.function)
    ])
  (#match? @_keyword "^(def|defp|defmacro|defmacrop|defguard|defguardp|defdelegate)$")) @definition.function

(call
  target: [
    (identifier) @name.reference.call
    (dot right: (identifier) @name.reference.call)
  ]
  (#not-match? @name.reference.call "^(def|defp|defmacro|defmacrop|defguard|defguardp|defdelegate|defmodule|defprotocol|defimpl|defstruct|defexception|alias|import|require|use|moduledoc|doc|typedoc|spec|type|impl|behaviour|callback|if|unless|case|cond|with|for|quote|unquote|raise|fn|try|receive)$")) @reference.call

(call
  target: (identifier) @_keyword
  (arguments . (alias) @import.module)
  (#match? @_keyword "^(alias|import|require|use)$")) @reference.import

; Context for chunking: comments and attributes (@doc, @spec) above a definition join its chunk.
(comment) @comment
(unary_operator operator: "@") @comment

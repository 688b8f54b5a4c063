; Rust tags. impl blocks (@scope) and inline modules (@namespace) prefix the paths of what they
; contain ("S.new", "inner.helper") but are not symbols themselves. Functions in an impl are methods.
; use trees are expanded in code from @import.tree.

(function_item
  name: (identifier) @name.definition.function) @definition.function
(struct_item
  name: (type_identifier) @name.definition.class) @definition.class
(union_item
  name: (type_identifier) @name.definition.class) @definition.class
(enum_item
  name: (type_identifier) @name.definition.enum) @definition.enum
(trait_item
  name: (type_identifier) @name.definition.interface) @definition.interface
(type_item
  name: (type_identifier) @name.definition.type) @definition.type

(impl_item
  type: [
    (type_identifier) @name.scope
    (generic_type type: (type_identifier) @name.scope)
    (scoped_type_identifier name: (type_identifier) @name.scope)
  ]) @scope
(mod_item
  name: (identifier) @name.namespace
  body: (declaration_list)) @namespace

(impl_item
  trait: [
    (type_identifier) @name.reference.inherits
    (generic_type type: (type_identifier) @name.reference.inherits)
    (scoped_type_identifier name: (type_identifier) @name.reference.inherits)
  ])
(trait_item
  bounds: (trait_bounds
    [
      (type_identifier) @name.reference.inherits
      (scoped_type_identifier name: (type_identifier) @name.reference.inherits)
    ]))

(call_expression
  function: [
    (identifier) @name.reference.call
    (field_expression field: (field_identifier) @name.reference.call)
    (scoped_identifier name: (identifier) @name.reference.call)
    (generic_function function: [
      (identifier) @name.reference.call
      (field_expression field: (field_identifier) @name.reference.call)
      (scoped_identifier name: (identifier) @name.reference.call)
    ])
  ]) @reference.call
(struct_expression
  name: [
    (type_identifier) @name.reference.call
    (scoped_type_identifier name: (type_identifier) @name.reference.call)
  ]) @reference.call

(use_declaration
  argument: (_) @import.tree) @reference.import

; Context for chunking: comments and attributes above a definition join its chunk.
[(line_comment) (block_comment) (attribute_item)] @comment

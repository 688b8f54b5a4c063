; Go tags. A method's path is "<receiver type>.<name>" (@scope.receiver); type_declaration
; wrappers around a single type_spec are added to its range in code.

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @scope.receiver
        (pointer_type (type_identifier) @scope.receiver)
        (generic_type type: (type_identifier) @scope.receiver)
        (pointer_type (generic_type type: (type_identifier) @scope.receiver))
      ]))
  name: (field_identifier) @name.definition.method) @definition.method

(type_spec
  name: (type_identifier) @name.definition.class
  type: (struct_type)) @definition.class
(type_spec
  name: (type_identifier) @name.definition.interface
  type: (interface_type)) @definition.interface
(type_spec
  name: (type_identifier) @name.definition.type
  type: [
    (type_identifier) (qualified_type) (generic_type) (pointer_type) (slice_type) (array_type)
    (map_type) (channel_type) (function_type)
  ]) @definition.type
(type_alias
  name: (type_identifier) @name.definition.type) @definition.type

(call_expression
  function: [
    (identifier) @name.reference.call
    (selector_expression field: (field_identifier) @name.reference.call)
  ]) @reference.call

; embedded struct fields and embedded interfaces
(field_declaration_list
  (field_declaration
    !name
    type: [
      (type_identifier) @name.reference.inherits
      (pointer_type (type_identifier) @name.reference.inherits)
      (qualified_type name: (type_identifier) @name.reference.inherits)
    ]))
(interface_type
  (constraint_elem [
    (type_identifier) @name.reference.inherits
    (qualified_type name: (type_identifier) @name.reference.inherits)
  ]))

(import_spec
  name: (_)? @import.alias
  path: (_) @import.module) @reference.import

; Context for chunking: comments above a definition join its chunk; wrappers join its range.
(comment) @comment
(type_declaration) @wrapper

; Scala tags. Classes, case classes and objects are classes, traits interfaces; a def in a template
; body is a method. A companion object shares its class's path (the class is kept as the symbol).

(class_definition name: (identifier) @name.definition.class) @definition.class
(object_definition name: (identifier) @name.definition.class) @definition.class
(trait_definition name: (identifier) @name.definition.interface) @definition.interface
(enum_definition name: (identifier) @name.definition.enum) @definition.enum
(type_definition name: (type_identifier) @name.definition.type) @definition.type
(function_definition name: (identifier) @name.definition.function) @definition.function

(extends_clause
  type: [
    (type_identifier) @name.reference.inherits
    (generic_type type: (type_identifier) @name.reference.inherits)
    (stable_type_identifier (type_identifier) @name.reference.inherits .)
  ])

(call_expression
  function: [
    (identifier) @name.reference.call
    (field_expression field: (identifier) @name.reference.call)
    (generic_function function: [
      (identifier) @name.reference.call
      (field_expression field: (identifier) @name.reference.call)
    ])
  ]) @reference.call
(instance_expression
  [
    (type_identifier) @name.reference.call
    (generic_type type: (type_identifier) @name.reference.call)
  ]) @reference.call

(import_declaration) @reference.import @import.path

; Context for chunking: comments above a definition join its chunk.
[(comment) (block_comment)] @comment

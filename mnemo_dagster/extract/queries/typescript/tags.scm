; inherits: ecma

(abstract_class_declaration
  name: (type_identifier) @name.definition.class) @definition.class
(interface_declaration
  name: (type_identifier) @name.definition.interface) @definition.interface
(type_alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type
(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum

(class_heritage
  (extends_clause
    value: [
      (identifier) @name.reference.inherits
      (member_expression property: (property_identifier) @name.reference.inherits)
    ]))
(implements_clause
  [
    (type_identifier) @name.reference.inherits
    (nested_type_identifier name: (type_identifier) @name.reference.inherits)
    (generic_type name: [
      (type_identifier) @name.reference.inherits
      (nested_type_identifier name: (type_identifier) @name.reference.inherits)
    ])
  ])
(extends_type_clause
  type: [
    (type_identifier) @name.reference.inherits
    (nested_type_identifier name: (type_identifier) @name.reference.inherits)
    (generic_type name: [
      (type_identifier) @name.reference.inherits
      (nested_type_identifier name: (type_identifier) @name.reference.inherits)
    ])
  ])

; export * as ns from "m"
(export_statement
  (namespace_export (identifier) @import.alias) @import.star
  source: (string) @import.module) @reference.import
; import x = require("m")
(import_statement
  (import_require_clause
    (identifier) @import.alias
    source: (string) @import.module) @import.star) @reference.import

; class fields holding functions: handle = () => {...}
(class_body
  (public_field_definition
    name: [(property_identifier) (private_property_identifier)] @name.definition.method
    value: [(arrow_function) (function)]) @definition.method)

(ambient_declaration) @wrapper

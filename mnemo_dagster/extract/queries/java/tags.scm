; Java tags. Methods and constructors are always in a class body, so they are methods here;
; annotations are part of a declaration's modifiers, hence of its range.

(class_declaration
  name: (identifier) @name.definition.class) @definition.class
(record_declaration
  name: (identifier) @name.definition.class) @definition.class
(interface_declaration
  name: (identifier) @name.definition.interface) @definition.interface
(annotation_type_declaration
  name: (identifier) @name.definition.interface) @definition.interface
(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum
(method_declaration
  name: (identifier) @name.definition.method) @definition.method
(constructor_declaration
  name: (identifier) @name.definition.method) @definition.method

(method_invocation
  name: (identifier) @name.reference.call) @reference.call
(object_creation_expression
  type: [
    (type_identifier) @name.reference.call
    (generic_type (type_identifier) @name.reference.call)
    (scoped_type_identifier (type_identifier) @name.reference.call .)
  ]) @reference.call

(superclass
  [
    (type_identifier) @name.reference.inherits
    (generic_type (type_identifier) @name.reference.inherits)
    (scoped_type_identifier (type_identifier) @name.reference.inherits .)
  ])
(super_interfaces
  (type_list [
    (type_identifier) @name.reference.inherits
    (generic_type (type_identifier) @name.reference.inherits)
    (scoped_type_identifier (type_identifier) @name.reference.inherits .)
  ]))
(extends_interfaces
  (type_list [
    (type_identifier) @name.reference.inherits
    (generic_type (type_identifier) @name.reference.inherits)
    (scoped_type_identifier (type_identifier) @name.reference.inherits .)
  ]))

; import a.b.C; (the module is the full name, the name its last part)
(import_declaration
  (scoped_identifier name: (identifier) @import.name) @import.module .) @reference.import
; import a.b.*;
(import_declaration
  (_) @import.module
  (asterisk) @import.star) @reference.import

; Context for chunking: comments above a definition join its chunk (annotations are in its range).
[(line_comment) (block_comment)] @comment

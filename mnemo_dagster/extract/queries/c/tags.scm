; C tags. Function definitions (not prototypes: a call then resolves to the one body), structs,
; unions and enums with a body, typedefs (a typedef of a struct body is the class, named by the typedef).
; #include "x.h" / <x.h> is an import of the whole header.

(function_definition
  declarator: [
    (function_declarator declarator: (identifier) @name.definition.function)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))
    (pointer_declarator declarator: (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name.definition.function)))
  ]) @definition.function

; A struct/union/enum with a body, unless it is the type of a typedef (then the typedef is the class).
(translation_unit
  [
    (struct_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (union_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum
  ])
(preproc_ifdef
  [
    (struct_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (union_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum
  ])
(preproc_if
  [
    (struct_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (union_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum
  ])
(preproc_else
  [
    (struct_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (union_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum
  ])
(preproc_elif
  [
    (struct_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (union_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum
  ])
(declaration_list
  [
    (struct_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (union_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
    (enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum
  ])
(type_definition
  type: [(struct_specifier body: (_)) (union_specifier body: (_))]
  declarator: (type_identifier) @name.definition.class) @definition.class
(type_definition
  type: (enum_specifier body: (_))
  declarator: (type_identifier) @name.definition.enum) @definition.enum
(type_definition
  type: [(primitive_type) (type_identifier) (sized_type_specifier) (struct_specifier !body)]
  declarator: (type_identifier) @name.definition.type) @definition.type

(call_expression
  function: [
    (identifier) @name.reference.call
    (field_expression field: (field_identifier) @name.reference.call)
  ]) @reference.call

(preproc_include path: (string_literal) @import.module) @reference.import
(preproc_include path: (system_lib_string) @import.module) @reference.import

; Context for chunking: comments above a definition join its chunk.
(comment) @comment

; C++ tags. Classes and structs with a body, enums, aliases, free functions, methods defined in a
; class body, and out-of-line methods ("void A::run() {}": path "A.run", the class as receiver).
; Prototypes are not symbols, so a call resolves to the one body. Namespaces do not prefix paths;
; their members chunk as top-level definitions. template <...> wrappers join their declaration.

(function_definition
  declarator: [
    (function_declarator declarator: [(identifier) (field_identifier)] @name.definition.function)
    (pointer_declarator declarator: (function_declarator
      declarator: [(identifier) (field_identifier)] @name.definition.function))
    (reference_declarator (function_declarator
      declarator: [(identifier) (field_identifier)] @name.definition.function))
  ]) @definition.function

(function_definition
  declarator: [
    (function_declarator declarator: (qualified_identifier
      scope: [(namespace_identifier) (template_type name: (type_identifier))] @scope.receiver
      name: [(identifier) (destructor_name) (operator_name)] @name.definition.method))
    (pointer_declarator declarator: (function_declarator declarator: (qualified_identifier
      scope: [(namespace_identifier) (template_type name: (type_identifier))] @scope.receiver
      name: [(identifier) (destructor_name) (operator_name)] @name.definition.method)))
    (reference_declarator (function_declarator declarator: (qualified_identifier
      scope: [(namespace_identifier) (template_type name: (type_identifier))] @scope.receiver
      name: [(identifier) (destructor_name) (operator_name)] @name.definition.method)))
  ]) @definition.method

(class_specifier
  name: [(type_identifier) (template_type name: (type_identifier))] @name.definition.class
  body: (_)) @definition.class
(struct_specifier
  name: [(type_identifier) (template_type name: (type_identifier))] @name.definition.class
  body: (_)) @definition.class
(union_specifier
  name: (type_identifier) @name.definition.class
  body: (_)) @definition.class
(enum_specifier
  name: (type_identifier) @name.definition.enum
  body: (_)) @definition.enum
(alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type
(type_definition
  type: [(struct_specifier !name body: (_)) (class_specifier !name body: (_))]
  declarator: (type_identifier) @name.definition.class) @definition.class

(base_class_clause
  [
    (type_identifier) @name.reference.inherits
    (qualified_identifier name: (type_identifier) @name.reference.inherits)
    (template_type name: (type_identifier) @name.reference.inherits)
    (qualified_identifier name: (template_type name: (type_identifier) @name.reference.inherits))
  ])

(call_expression
  function: [
    (identifier) @name.reference.call
    (field_expression field: (field_identifier) @name.reference.call)
    (qualified_identifier name: (identifier) @name.reference.call)
    (template_function name: (identifier) @name.reference.call)
    (qualified_identifier name: (template_function name: (identifier) @name.reference.call))
    (field_expression field: (template_method name: (field_identifier) @name.reference.call))
  ]) @reference.call
(new_expression
  type: [
    (type_identifier) @name.reference.call
    (qualified_identifier name: (type_identifier) @name.reference.call)
    (template_type name: (type_identifier) @name.reference.call)
  ]) @reference.call

(preproc_include path: (string_literal) @import.module) @reference.import
(preproc_include path: (system_lib_string) @import.module) @reference.import

; Context for chunking: comments above a definition join its chunk; template <...> joins its range.
(comment) @comment
(template_declaration) @wrapper

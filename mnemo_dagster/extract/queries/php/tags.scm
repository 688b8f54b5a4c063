; PHP tags. Classes, traits and enums, interfaces, functions, methods. Namespaces do not prefix paths.
; "use A\B\C [as D]" imports the class C of namespace A\B; require/include of a string path imports
; that file.

(class_declaration name: (name) @name.definition.class) @definition.class
(trait_declaration name: (name) @name.definition.class) @definition.class
(interface_declaration name: (name) @name.definition.interface) @definition.interface
(enum_declaration name: (name) @name.definition.enum) @definition.enum
(function_definition name: (name) @name.definition.function) @definition.function
(method_declaration name: (name) @name.definition.method) @definition.method

(base_clause [(name) (qualified_name (name) .)] @name.reference.inherits)
(class_interface_clause [(name) (qualified_name (name) .)] @name.reference.inherits)
(use_declaration [(name) (qualified_name (name) .)] @name.reference.inherits)

(function_call_expression
  function: [(name) @name.reference.call (qualified_name (name) @name.reference.call .)]) @reference.call
(member_call_expression name: (name) @name.reference.call) @reference.call
(nullsafe_member_call_expression name: (name) @name.reference.call) @reference.call
(scoped_call_expression name: (name) @name.reference.call) @reference.call
(object_creation_expression
  [(name) @name.reference.call (qualified_name (name) @name.reference.call .)]) @reference.call

(namespace_use_clause
  (qualified_name (name) @import.name .) @import.module
  .) @reference.import
(namespace_use_clause
  (qualified_name (name) @import.name .) @import.module
  (namespace_aliasing_clause (name) @import.alias)) @reference.import
[
  (require_expression (string) @import.module)
  (require_once_expression (string) @import.module)
  (include_expression (string) @import.module)
  (include_once_expression (string) @import.module)
] @reference.import

; Context for chunking: comments and attributes above a definition join its chunk.
[(comment) (attribute_list)] @comment

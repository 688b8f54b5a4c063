; C# tags. Namespaces do not prefix paths (their members chunk as top-level definitions); a
; "using A.B;" imports the namespace as a whole, "using X = A.B.C;" one type under an alias.

(class_declaration name: (identifier) @name.definition.class) @definition.class
(struct_declaration name: (identifier) @name.definition.class) @definition.class
(record_declaration name: (identifier) @name.definition.class) @definition.class
(interface_declaration name: (identifier) @name.definition.interface) @definition.interface
(enum_declaration name: (identifier) @name.definition.enum) @definition.enum
(delegate_declaration name: (identifier) @name.definition.type) @definition.type
(method_declaration name: (identifier) @name.definition.method) @definition.method
(constructor_declaration name: (identifier) @name.definition.method) @definition.method
(local_function_statement name: (identifier) @name.definition.function) @definition.function

(base_list
  [
    (identifier) @name.reference.inherits
    (generic_name (identifier) @name.reference.inherits)
    (qualified_name name: (identifier) @name.reference.inherits)
    (qualified_name name: (generic_name (identifier) @name.reference.inherits))
  ])

(invocation_expression
  function: [
    (identifier) @name.reference.call
    (generic_name (identifier) @name.reference.call)
    (member_access_expression name: (identifier) @name.reference.call)
    (member_access_expression name: (generic_name (identifier) @name.reference.call))
  ]) @reference.call
(object_creation_expression
  type: [
    (identifier) @name.reference.call
    (generic_name (identifier) @name.reference.call)
    (qualified_name name: (identifier) @name.reference.call)
  ]) @reference.call

(using_directive . [(identifier) (qualified_name)] @import.module .) @reference.import
(using_directive
  (name_equals (identifier) @import.alias)
  (qualified_name name: (identifier) @import.name) @import.module) @reference.import

; Context for chunking: comments and attributes above a definition join its chunk.
[(comment) (attribute_list)] @comment

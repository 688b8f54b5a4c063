; Kotlin tags. Classes (enum classes too) and objects are classes, interfaces are interfaces,
; functions in a class body are methods. Imports name one declaration of a package ("import a.b.C").

(class_declaration "class" (type_identifier) @name.definition.class) @definition.class
(class_declaration "interface" (type_identifier) @name.definition.interface) @definition.interface
(object_declaration (type_identifier) @name.definition.class) @definition.class
(function_declaration (simple_identifier) @name.definition.function) @definition.function
(type_alias (type_identifier) @name.definition.type) @definition.type

(delegation_specifier
  [
    (user_type (type_identifier) @name.reference.inherits)
    (constructor_invocation (user_type (type_identifier) @name.reference.inherits))
  ])

(call_expression
  [
    (simple_identifier) @name.reference.call
    (navigation_expression (navigation_suffix (simple_identifier) @name.reference.call) .)
  ]) @reference.call

; (a fallback: "import a.b.*" also matches it, with the star as an anonymous last token)
(import_header
  (identifier (simple_identifier) @import.name .) @import.module
  .) @reference.import @import.fallback
(import_header
  (identifier (simple_identifier) @import.name .) @import.module
  (import_alias (type_identifier) @import.alias)) @reference.import
(import_header
  (identifier) @import.module
  ".*" @import.star) @reference.import

; Context for chunking: comments above a definition join its chunk.
[(line_comment) (multiline_comment)] @comment

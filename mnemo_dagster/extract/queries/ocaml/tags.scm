; OCaml tags. let-bound functions (a binding with parameters or a fun), types, modules (classes, so
; their functions are methods "M.f") and classes with their methods. "open M", "include M" and every
; qualified name "M.x" import module M (m.ml); the function of an application is a call.

(let_binding
  pattern: (value_name) @name.definition.function
  (parameter)) @definition.function
(let_binding
  pattern: (value_name) @name.definition.function
  body: [(fun_expression) (function_expression)]) @definition.function
(type_binding name: (type_constructor) @name.definition.type) @definition.type
(module_binding (module_name) @name.definition.class) @definition.class
(class_binding name: (class_name) @name.definition.class) @definition.class
(method_definition name: (method_name) @name.definition.method) @definition.method

(application_expression
  function: [
    (value_path (value_name) @name.reference.call)
    (constructor_path (constructor_name) @name.reference.call .)
  ]) @reference.call
(method_invocation (method_name) @name.reference.call) @reference.call

(open_module (module_path . (module_name) @import.module)) @reference.import
(include_module (module_path . (module_name) @import.module)) @reference.import
(value_path . (module_path . (module_name) @import.module)) @reference.import
(value_path . (module_path . (module_path . (module_name) @import.module))) @reference.import

; Context for chunking: comments above a definition join its chunk; wrappers join its range.
(comment) @comment
[(value_definition) (type_definition) (module_definition) (class_definition)] @wrapper

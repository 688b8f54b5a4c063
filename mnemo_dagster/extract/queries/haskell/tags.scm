; Haskell tags. Top-level functions (each further equation repeats the first one's path), data and
; newtypes (classes), type classes (interfaces), type synonyms. An instance "instance C T where"
; is a scope named T: its functions are methods "T.f", and T inherits C. A type signature joins the
; chunk of the function below it. "import A.B" imports A/B.hs; the head of an application is a call.

(function name: (variable) @name.definition.function) @definition.function
(adt name: (type) @name.definition.class) @definition.class
(newtype name: (type) @name.definition.class) @definition.class
(class (class_head class: (class_name (type) @name.definition.interface))) @definition.interface
(type_alias name: (type) @name.definition.type) @definition.type

(instance (instance_head (type_name (type) @name.scope))) @scope
(instance (instance_head class: (class_name (type) @name.reference.inherits)))

(exp_apply
  .
  (exp_name [
    (variable) @name.reference.call
    (qualified_variable (variable) @name.reference.call .)
    (constructor) @name.reference.call
    (qualified_constructor (constructor) @name.reference.call .)
  ])) @reference.call

(import (qualified_module) @import.module) @reference.import

; Context for chunking: comments and type signatures above a definition join its chunk.
[(comment) (signature)] @comment

; Python tags. Methods are functions nested directly in a class (decided in code);
; decorated_definition wrappers are added to a definition's range in code.

(class_definition
  name: (identifier) @name.definition.class) @definition.class

(function_definition
  name: (identifier) @name.definition.function) @definition.function

(call
  function: [
    (identifier) @name.reference.call
    (attribute attribute: (identifier) @name.reference.call)
  ]) @reference.call

(class_definition
  superclasses: (argument_list
    [
      (identifier) @name.reference.inherits
      (attribute attribute: (identifier) @name.reference.inherits)
      (subscript value: [
        (identifier) @name.reference.inherits
        (attribute attribute: (identifier) @name.reference.inherits)
      ])
    ]))

; import a.b  /  import a as b
(import_statement
  name: (dotted_name) @import.module) @reference.import
(import_statement
  name: (aliased_import
    name: (dotted_name) @import.module
    alias: (identifier) @import.alias)) @reference.import

; from m import x  /  from .m import x as y  /  from m import *
(import_from_statement
  module_name: (_) @import.module
  name: (dotted_name) @import.name) @reference.import
(import_from_statement
  module_name: (_) @import.module
  name: (aliased_import
    name: (dotted_name) @import.name
    alias: (identifier) @import.alias)) @reference.import
(import_from_statement
  module_name: (_) @import.module
  (wildcard_import) @import.star) @reference.import

; Context for chunking: comments above a definition join its chunk; wrappers join its range.
(comment) @comment
(decorated_definition) @wrapper

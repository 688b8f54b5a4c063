; Ruby tags. Modules and classes are classes (a module's methods are methods); "def self.x" is a
; method of its class. "X.new(...)" is a call to X; include/extend/prepend of a module is a base.
; require "a/b" imports a/b(.rb) from the load path, require_relative "b" the file ./b.rb.

(class name: [(constant) (scope_resolution name: (constant))] @name.definition.class) @definition.class
(module name: [(constant) (scope_resolution name: (constant))] @name.definition.class) @definition.class
(method name: (_) @name.definition.function) @definition.function
(singleton_method name: (_) @name.definition.function) @definition.function

(superclass [(constant) (scope_resolution name: (constant))] @name.reference.inherits)
(call
  method: (identifier) @_mixin
  arguments: (argument_list [(constant) (scope_resolution name: (constant))] @name.reference.inherits)
  (#match? @_mixin "^(include|extend|prepend)$"))

(call method: (identifier) @name.reference.call) @reference.call
(call
  receiver: [(constant) (scope_resolution name: (constant))] @name.reference.call
  method: (identifier) @_new
  (#eq? @_new "new")) @reference.call

(call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.module) .)
  (#eq? @_require "require")) @reference.import
(call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.module) .)
  (#eq? @_require "require_relative")) @reference.import @import.relative

; Context for chunking: comments above a definition join its chunk.
(comment) @comment

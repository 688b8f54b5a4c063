; R tags. A function assigned to a name ("f <- function(x)", "f = function(x)") is a function; an
; R6Class / setRefClass generator assigned to a name is a class. library(pkg), require(pkg) and
; source("file.R") are imports (a sourced path is relative to the project root or the file).

(left_assignment
  name: (identifier) @name.definition.function
  value: (function_definition)) @definition.function
(equals_assignment
  name: (identifier) @name.definition.function
  value: (function_definition)) @definition.function
(left_assignment
  name: (identifier) @name.definition.class
  value: (call function: (identifier) @_generator)
  (#match? @_generator "^(R6Class|setRefClass)$")) @definition.class

(call
  function: (identifier) @name.reference.call
  (#not-match? @name.reference.call "^(library|require|source|requireNamespace|function)$")) @reference.call

(call
  function: (identifier) @_import
  arguments: (arguments . [(identifier) (string)] @import.module)
  (#match? @_import "^(library|require|source|requireNamespace)$")) @reference.import

; Context for chunking: comments (roxygen blocks) above a definition join its chunk.
(comment) @comment

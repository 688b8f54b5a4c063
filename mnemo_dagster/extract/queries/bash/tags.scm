; Bash tags. Functions ("f() {}" and "function f {}"); every command is a call (only those naming a
; function of the repository resolve). "source f" / ". f" imports the file f (a leading
; "$(dirname "$0")" or "${BASH_SOURCE%/*}" means the script's own directory).

(function_definition name: (word) @name.definition.function) @definition.function

(command name: (command_name (word) @name.reference.call)) @reference.call

(command
  name: (command_name (word) @_source)
  .
  argument: [(word) (string) (raw_string) (concatenation)] @import.module
  (#match? @_source "^(source|\\.)$")) @reference.import

; Context for chunking: comments above a definition join its chunk.
(comment) @comment

; Erlang tags. Functions (every clause group; a function's clauses after the first repeat its path),
; records (classes) and types. A remote call "m:f()" imports module m (m.erl) and is a call named
; "m:f", which no local definition can answer; -import(m, [f/1]) imports f from m, so a plain f()
; resolves into m; -include("x.hrl") imports the header.

(fun_decl clause: (function_clause name: (atom) @name.definition.function)) @definition.function
(record_decl name: (atom) @name.definition.class) @definition.class
(type_alias name: (type_name name: (atom) @name.definition.type)) @definition.type

(call expr: [(atom) (remote)] @name.reference.call) @reference.call

(remote module: (remote_module module: (atom) @import.module)) @reference.import
(import_attribute module: (atom) @import.module funs: (fa fun: (atom) @import.name)) @reference.import
(pp_include file: (string) @import.module) @reference.import
(pp_include_lib file: (string) @import.module) @reference.import

; Context for chunking: comments above a definition join its chunk.
(comment) @comment

; inherits: c
; Objective-C tags, on top of C's. @interface and @implementation are classes (a class has both:
; one symbol per file), @protocol an interface. A method is named by its first selector part
; ("initWithOwner:" -> initWithOwner), and so is a message ("[a deposit:1]" calls deposit).
; Method declarations are not symbols, as C prototypes are not. #import is an include.

(class_interface name: (identifier) @name.definition.class) @definition.class
(class_implementation name: (identifier) @name.definition.class) @definition.class
(protocol_declaration name: (identifier) @name.definition.interface) @definition.interface
(method_definition
  selector: [
    (identifier) @name.definition.method
    (keyword_selector . (keyword_declarator keyword: (identifier) @name.definition.method))
  ]) @definition.method

(superclass_reference name: (identifier) @name.reference.inherits)
(protocol_qualifiers name: (identifier) @name.reference.inherits)

(message_expression
  selector: [
    (identifier) @name.reference.call
    (keyword_argument_list . (keyword_argument keyword: (identifier) @name.reference.call))
  ]) @reference.call

(preproc_import path: (string_literal) @import.module) @reference.import
(preproc_import path: (system_lib_string) @import.module) @reference.import

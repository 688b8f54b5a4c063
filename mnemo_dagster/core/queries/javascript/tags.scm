; inherits: ecma

(class_heritage
  [
    (identifier) @name.reference.inherits
    (member_expression property: (property_identifier) @name.reference.inherits)
  ])

; class fields holding functions: handle = () => {...}
(class_body
  (field_definition
    property: [(property_identifier) (private_property_identifier)] @name.definition.method
    value: [(arrow_function) (function)]) @definition.method)

; JSX components (capitalised tags) count as calls
(jsx_opening_element
  name: (identifier) @name.reference.call
  (#match? @name.reference.call "^[A-Z]")) @reference.call
(jsx_self_closing_element
  name: (identifier) @name.reference.call
  (#match? @name.reference.call "^[A-Z]")) @reference.call

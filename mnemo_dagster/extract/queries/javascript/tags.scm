; inherits: ecma, jsx

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

; inherits: typescript

; JSX components (capitalised tags) count as calls
(jsx_opening_element
  name: (identifier) @name.reference.call
  (#match? @name.reference.call "^[A-Z]")) @reference.call
(jsx_self_closing_element
  name: (identifier) @name.reference.call
  (#match? @name.reference.call "^[A-Z]")) @reference.call

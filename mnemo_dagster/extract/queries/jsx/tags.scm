; JSX, shared by JavaScript and TSX ("; inherits: ..., jsx"): capitalised components count as calls.
(jsx_opening_element
  name: (identifier) @name.reference.call
  (#match? @name.reference.call "^[A-Z]")) @reference.call
(jsx_self_closing_element
  name: (identifier) @name.reference.call
  (#match? @name.reference.call "^[A-Z]")) @reference.call

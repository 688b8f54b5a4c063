"""Classes in the Python flow analysis (:mod:`.pyflow`): attributes of classes and instances along
the C3 MRO, ``self`` of methods no call reached, and bases from other modules."""

from __future__ import annotations

from mnemo_dagster.graph.pyflow_state import MAX_STEPS, FlowState, Value


class FlowClasses(FlowState):
    """Attribute lookup. What bases hold comes from :meth:`~.pyflow_values.FlowValues.eval`, which this
    part calls through ``self``."""

    def attribute(self, obj: Value, attr: str) -> set[Value]:
        """An attribute of a value: instance fields, then class members along the MRO."""
        if isinstance(obj, str):
            if self._kind(obj) != "class":
                return set()
            return self._class_attribute(self.mro(obj), attr, ())
        kind = obj[0]
        if kind == "x":
            return {(*obj, attr)} if len(obj) < MAX_STEPS else set()
        if kind == "I":
            return self._virtual(obj[1], attr, obj[2] if len(obj) > 2 else None)
        if kind == "s":
            order = self.mro(obj[2])
            after = order[order.index(obj[1]) + 1 :] if obj[1] in order else self.mro(obj[1])[1:]
            return self._class_attribute(after, attr, ("()",))
        if kind != "i":
            return set()  # containers, generators and partials: their methods are builtins
        if attr == "__class__":
            return {obj[1]}
        return self._instance_field(obj[1], attr) or self._instance_member(obj[1], attr)

    def _instance_field(self, cls: str, attr: str) -> set[Value]:
        """What methods assigned to ``self.attr`` in the first class along the MRO that does so, unless
        an earlier class defines ``attr`` in its body."""
        for base in self.mro(cls):
            found = self._read(self.fields[(base, attr)])
            if found:
                return found
            if self._member([base], attr):
                return set()
        return set()

    def _instance_member(self, cls: str, attr: str) -> set[Value]:
        """``attr`` of an instance from the class bodies along the MRO (or a base of another module)."""
        return self._class_attribute(self.mro(cls), attr, ("()",))

    def _virtual(self, cls: str, attr: str, caller: str | None = None) -> set[Value]:
        """An attribute of ``self`` in a method no call of this module reached: ``self`` may be an
        instance of any subclass, in any module, so a method (or a name the class does not define)
        becomes ``("v", class, attr, caller)``, which the graph dispatches along the class hierarchy to
        the subclasses on which ``caller`` (the method whose ``self`` it is) runs. What the methods
        assign to ``self.attr`` stays what it is (``self.seg = Segmentation()``)."""
        if attr == "__class__":
            return {cls}
        field = self._instance_field(cls, attr)
        if field:
            return field
        values = self._instance_member(cls, attr)
        methods = {v for v in values if isinstance(v, str) and self._kind(v) == "function"}
        inherited = {v for v in values if isinstance(v, tuple) and v[0] == "x"}
        if methods or inherited or not values:
            virtual = ("v", cls, attr, caller) if caller else ("v", cls, attr)
            return (values - methods - inherited) | {virtual}
        return values

    def _inherited(self, classes: list[str], attr: str, step: tuple[str, ...]) -> set[Value]:
        """``attr`` from a base class of another module: resolved at graph time."""
        return {(*base, *step, attr) for cls in classes for base in self._external_bases(cls)}

    def _external_bases(self, cls: str) -> list[Value]:
        info = self.scope_info.get(cls)
        if info is None:
            return []
        return [
            value
            for base in info[4]
            for value in self.eval(info[5], info[1] or "", base)
            if isinstance(value, tuple) and value[0] == "x" and len(value) < MAX_STEPS
        ]

    def _class_attribute(self, classes: list[str], attr: str, step: tuple[str, ...]) -> set[Value]:
        """``attr`` from the first class along ``classes`` that defines it (what it holds, maybe
        nothing: ``RED = 1``), else from a base class of another module."""
        for cls in classes:
            info = self.scope_info.get(cls)
            if info is None:
                continue
            if attr in self.locals.get((info[5], info[6]), ()):
                return self._read(self.vars[(info[5], info[6], attr)])
            found = self._read(self.fields[(cls, attr)])
            if found:
                return found
        return self._inherited(classes, attr, step)

    def _member(self, classes: list[str], attr: str) -> set[Value]:
        """The first class along ``classes`` that defines ``attr`` in its body (or assigns ``cls.attr``)."""
        for cls in classes:
            info = self.scope_info.get(cls)
            if info is None:
                continue
            path, scope = info[5], info[6]
            if attr in self.locals.get((path, scope), ()):
                return self._read(self.vars[(path, scope, attr)])
            found = self._read(self.fields[(cls, attr)])
            if found:
                return found
        return set()

    def mro(self, cls: str) -> list[str]:
        """The C3 linearization of a class (depth-first when C3 fails), cached until what its bases
        hold grows (a reader of a cached MRO reads what computing it read)."""
        cached = self._mro.get(cls)
        if cached is not None:
            for key in cached[1]:
                if self._reader is not None:
                    self._readers[key].add(self._reader)
                if self._reads is not None:
                    self._reads.add(key)
            return cached[0]
        outer, self._reads = self._reads, set()
        self._mro[cls] = ([cls], self._reads)  # guards against inheritance cycles
        info = self.scope_info.get(cls)
        bases: list[str] = []
        if info is not None:
            for base in info[4]:
                for value in sorted(self.eval(info[5], info[1] or "", base), key=str):
                    if isinstance(value, str) and self._kind(value) == "class" and value not in bases:
                        bases.append(value)
        order = c3_merge([cls], [self.mro(b) for b in bases] + [bases])
        reads, self._reads = self._reads, outer
        if outer is not None:
            outer |= reads
        self._mro[cls] = (order, reads)
        self._mro_sets |= reads
        return order


def c3_merge(head: list[str], sequences: list[list[str]]) -> list[str]:
    """C3 merge of the bases' linearizations; falls back to depth-first order when inconsistent."""
    result = list(head)
    pending = [list(s) for s in sequences if s]
    while pending:
        for seq in pending:
            candidate = seq[0]
            if not any(candidate in other[1:] for other in pending):
                break
        else:
            for seq in pending:
                result += [c for c in seq if c not in result]
            return result
        result.append(candidate)
        pending = [s[1:] if s[0] == candidate else s for s in pending]
        pending = [s for s in pending if s]
    return result

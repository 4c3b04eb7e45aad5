"""PuLP's HiGHS solver, handed the model in one batch and a starting plan.

PuLP's own HiGHS interface adds one column and one row per Python call: on
the M market's plan (750,000 variables) that alone took 13 s, more than
HiGHS' LP solve of a location block. Here the columns, integrality and rows
go over in three array calls. With ``start`` the variables' initial
values (``LpVariable.setInitialValue``) are given to HiGHS as a feasible
plan, so a solve stopped by its time limit still has a plan to return and a
gap to report: without one, HiGHS had no incumbent after 60 s on one M
location and PuLP reported the model "Not Solved".
"""

from __future__ import annotations

import highspy
import numpy as np
import pulp


class BatchHiGHS(pulp.HiGHS):
    """``pulp.HiGHS`` with a batch model transfer and an optional start.

    ``start``: give HiGHS the variables' initial values as a feasible plan.
    """

    def __init__(self, start: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.start = start

    def actualSolve(self, lp) -> int:
        """Build, start, solve and read back, listing the variables once (PuLP's
        own ``lp.variables()`` walks every constraint each time it is called)."""
        self.createAndConfigureSolver(lp)
        variables = lp.variables()
        self.buildSolverModel(lp, variables)
        if self.start:
            values = np.array([var.varValue or 0.0 for var in variables])
            index = np.arange(len(values), dtype=np.int32)
            lp.solverModel.setSolution(len(values), index, values)
        lp.solverModel.run()
        status, solution = read_solution(lp.solverModel, variables)
        lp.assignStatus(status, solution)
        return status

    def buildSolverModel(self, lp, variables=None) -> None:
        """Columns, integrality and rows of ``lp`` in three HiGHS calls."""
        h, inf = lp.solverModel, highspy.kHighsInf
        variables = lp.variables() if variables is None else variables
        for i, var in enumerate(variables):
            var.index = i
        sign = -1.0 if lp.sense == pulp.LpMaximize else 1.0
        cost = np.array([sign * lp.objective.get(var, 0.0) for var in variables])
        lower = np.array([_bound(var.lowBound, -inf) for var in variables])
        upper = np.array([_bound(var.upBound, inf) for var in variables])
        empty = np.array([], dtype=np.int32)
        h.addCols(len(variables), cost, lower, upper, 0, empty, empty, np.array([]))
        if self.mip:
            whole = np.array(
                [i for i, var in enumerate(variables) if var.cat == pulp.LpInteger],
                dtype=np.int32,
            )
            kinds = np.full(len(whole), highspy.HighsVarType.kInteger.value, np.uint8)
            if len(whole):
                h.changeColsIntegrality(len(whole), whole, kinds)
        self._add_rows(lp, h, inf)

    @staticmethod
    def _add_rows(lp, h, inf: float) -> None:
        """Every constraint as one CSR block: row bounds, starts, indices, values."""
        constraints = list(lp.constraints.values())
        starts, index, value = [0], [], []
        lower, upper = [], []
        for i, con in enumerate(constraints):
            con.index = i
            for var, coef in con.items():
                if coef != 0:
                    index.append(var.index)
                    value.append(coef)
            starts.append(len(index))
            lower.append(_bound(con.getLb(), -inf))
            upper.append(_bound(con.getUb(), inf))
        h.addRows(
            len(constraints),
            np.array(lower),
            np.array(upper),
            len(index),
            np.array(starts[:-1], dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=float),
        )


FEASIBLE_IF_SOLUTION = {"kTimeLimit", "kInterrupt", "kIterationLimit"}
FEASIBLE_IF_SOLUTION |= {"kObjectiveBound", "kObjectiveTarget"}


def read_solution(h, variables) -> tuple[int, int]:
    """Set each variable's value from HiGHS; (PuLP status, PuLP solution status).

    As PuLP's own HiGHS interface does: a solve stopped by a limit counts as
    solved when it holds a feasible plan (its gap is reported apart).
    """
    for var, value in zip(variables, h.getSolution().col_value, strict=True):
        var.varValue = value
    name = h.getModelStatus().name
    has_plan = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    if name == "kOptimal":
        return pulp.LpStatusOptimal, pulp.LpSolutionOptimal
    if name in FEASIBLE_IF_SOLUTION and has_plan:
        return pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible
    if name in {"kInfeasible", "kUnboundedOrInfeasible"}:
        return pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible
    if name == "kUnbounded":
        return pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded
    return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound


def _bound(value, default: float) -> float:
    return default if value is None else float(value)


def solve_summary(prob) -> dict:
    """HiGHS' own status and, for a MIP, its relative gap and best bound (EUR) of
    the last solve of ``prob``; empty when another solver solved it."""
    h = getattr(prob, "solverModel", None)
    if not isinstance(h, highspy.Highs):
        return {}
    info = h.getInfo()
    summary = {"highs_status": h.modelStatusToString(h.getModelStatus())}
    if info.mip_node_count >= 0:  # a MIP; None: stopped before any bound
        finite = np.isfinite(info.mip_gap) and np.isfinite(info.mip_dual_bound)
        summary["mip_gap"] = round(float(info.mip_gap), 5) if finite else None
        summary["bound_eur"] = round(float(info.mip_dual_bound), 2) if finite else None
    return summary

"""The kinds of answer the planner composes (bot/core/plan.py decides which one answers):

- values.py: a sentence as data (Say) and the values it holds; the AnswerPlan; the Library read.
- facts.py: figures, fiscal years and desks from the records, the common rules, "not stated".
- support.py: what fits a need (programs with their figures, the measure behind them), the document.
- slots.py: a program's detail asked (limit, deadline, who may apply, what is covered), yes or no.
- named.py: a program named (which one, what it is, two compared, what a word means).
- faq.py: an operator's published answer to the same question.
"""

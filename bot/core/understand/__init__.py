"""The parts of understanding one message (bot/core/intent.py puts them together into an Intent):

- vocabulary.py: owners' words for what is asked (bot/data/asks.yaml), and how a trigger matches.
- question.py: where the question is (after the owner's situation), its language, yes or no.
- names.py: the programs, laws and desks named, in the documents or not, and which one is asked about.
- slots.py: which detail is asked and how surely; the condition a yes/no question hinges on.
"""

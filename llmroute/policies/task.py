"""Task: classify a request by the kind of work it asks for, and rank that kind's models first.

Built-in categories (:data:`CATEGORIES`): code, math, reasoning, extraction, classification,
summarisation, translation, writing and chat. Each has a small weighted lexicon of cue words and
word pairs in English, German, French, Spanish, Italian and Portuguese, plus a few structural cues
(code fences, operators between numbers); a user adds categories, or widens a built-in one, with a
few example prompts each, matched by IDF-weighted word overlap. No model, network or numpy: one
pass over the words of the ask, a dictionary lookup per distinct word.

    Task(routes={"code": ["gpt-4o"], "extraction": ["local-small"]},
         examples={"legal": ["Review this NDA clause for risks", "Is this contract enforceable?"]},
         routes_default=None)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._text import message_text
from .._types import Message, Model, Request, Verdict
from .._validate import number
from ..errors import ConfigError

__all__ = ["CATEGORIES", "Task", "TaskClassifier", "TaskMatch", "classify", "task_words"]

CATEGORIES = (
    "code", "math", "reasoning", "extraction", "classification", "summarisation", "translation", "writing", "chat",
)  # fmt: skip

_HEAD = 600  # the ask sits at the start or the end of a long message: read both ends
_TAIL = 600
_LEAD = 8  # words at the start of the ask whose cues weigh more
_BUILTIN_EXAMPLE_WEIGHT = 0.5  # the built-in examples mostly explain; a user's examples decide
_SPACE_OUT = str.maketrans({c: " " for c in ".,;:!?()[]{}\"'`<>=+*/\\|^%$#~@&_«»¿¡…-\u201c\u201d\u2018\u2019"})

# category -> "cue weight cue weight ..."; a cue is a word or a word pair joined by "+".
_CUES: dict[str, str] = {
    "code": """
        function 2.5 functions 2 python 3 javascript 3 typescript 3 java 3 kotlin 3 rust 2.5 golang 3 haskell 3 sql 3
        regex 3 bash 3 script 1.5 code 2 coding 2 program 1 programming 2 compile 2 compiler 2 bug 2.5 debug 3
        refactor 3 implement 1.5 class 1 method 1 api 1.5 endpoint 2 docker 3 dockerfile 3 kubernetes 2.5 manifest 1.5
        git 3 commit 1.5 github 2 repository 1.5 html 3 css 3 react 3 component 1.5 pandas 3 numpy 3 dataframe 3
        df 1.5 query 1.5 database 1.5 array 1.5 vec 2 linked+list 2 pointer 2.5 variable 1.5 loop 1.5 recursion 2
        pytest 3 unit+tests 2.5 async 2 aiohttp 3 http 1.5 json 0.5 yaml 1 terraform 3 nginx 2 replicas 1.5 flexbox 3
        div 2 exception 2 nullpointerexception 3 segmentation+fault 3 stack+trace 0.5 thread-safe 2 thread 1.5
        typeerror 3 keyerror 1 syntax 1.5 c++ 3 lru 2 cache 1.5 quicksort 3 binary+search 3 list+comprehension 3
        type+hints 3 yield 2 generator 1.5 generators 2 github+actions 3 workflow 1 deployment 1 s3 2 bucket 1.5
        const 2 interface 1.5 struct 2 funktion 2.5 fonction 2.5 función 2.5 funcion 2.5 funzione 2.5 função 2.5
        código 2 codigo 2 programa 1 tableau 1 archivo 1 csv 1 merge 1 rebase 2 npm 3 pip 2 node 1.5 linux 1
        """,
    "math": """
        solve 2.5 equation 3 equations 3 calculate 2.5 compute 1.5 derivative 3 integral 3 probability 2.5 prime 2
        fraction 2 percent 1.5 average 1.5 median 2 standard+deviation 3 matrix 2.5 eigenvalues 3 determinant 3
        limit 1.5 theorem 3 lcm 3 gcd 3 least+common 3 simplify 2 expand 1.5 binomial 3 taylor 3 series 1 logarithm 3
        log 1.5 area 2 volume 2 perimeter 3 radius 3 angle 2 angles 2 triangle 2 circle 1.5 hexagon 2 cylinder 2.5
        interest 1.5 compounded 3 km 1.5 km/h 2 speed 1 litres 1 ways 1 consecutive 2 integers 2.5 integer 1.5
        irrational 3 sqrt 3 square+root 3 discount 1.5 x 1.5 y 0.5 f 0.5 dy 3 dx 3 trailing+zeros 3 workers 1 sum 1
        factorial 1.5 lowest+terms 3 löse 2.5 gleichung 3 berechne 2.5 calcule 2.5 calcula 2.5 calcola 2.5 calcular 2.5
        ecuación 3 ecuacion 3 equazione 3 équation 3 aire 2 área 2 volumen 2 volume 1 rayon 2 raggio 2 ángulos 2
        suma 1 interiores 1 marbles 2 odd+numbers 2 rule+of 1 how+many 2 how+much 1.5 times+as 2 how+long 1 """,
    "reasoning": """
        why 1.5 argue 2.5 argument 2 arguments 2 pros 2 cons 2 trade-offs 3 tradeoffs 3 trade+offs 3 compare 2
        evaluate 2 critique 3 analyse 2.5 analyze 2.5 analysis 1.5 implications 3 consequences 2.5 should 1 justify 3
        reason 2 reasoning 2 logic 2 logical 2.5 puzzle 3 riddle 3 deduce 3 deduction 3 infer 2.5 flaw 3 fallacy 3
        assess 2.5 think+it 2 walk+me 2 through 0.5 what+would 1.5 what+if 1.5 is+it 0.5 ever 1 rational 1.5
        better 1 decision 1.5 likely 1.5 cause 1.5 caused 1 causes 2 explanations 2.5 explain 0.5 effects 1.5
        second-order 3 ethics 2.5 rigorous 2 weigh 2 strongest 1.5 argumentation 2.5 microservices 0.5 monolith 1
        relabel 2 taller 2 tallest 2 shorter 1 older 1 who+is 0.5 definitely 1 are+all 1 ropes 2 clues 2 deductions 2
        strategy 1 wins 0.5 warum 2 ursache 2 erkläre 1 pourquoi 2 causalité 2 corrélation 2 por+qué 2 pasaría 2
        analiza 2.5 consecuencias 2.5 perché 2 whether 0.5 figure+out 1.5 fall 0.5 physics 1 """,
    "extraction": """
        extract 3.5 extraction 3 extrahiere 3.5 extrais 3.5 extrae 3.5 estrai 3.5 extraia 3.5 pull 2 parse 2.5
        identify 1.5 list+every 2.5 list+all 2.5 find+every 2.5 find+all 2 every 0.5 mentioned 2 schema 2.5 fill 1
        grab 2.5 get+the 1 names 1.5 dates 1.5 email+addresses 2.5 addresses 1 entities 3 named+entities 3
        key-value 3 key+value 2 the+numbers 1.5 numbers+from 2 from+this 1 from+the 0.5 from+these 1 just+the 1.5
        hashtag 2 mentions 2 ingredients 1 skills 1 action+items 2.5 owners 1.5 fields 1.5 which+dates 2 pull+out 2
        which+companies 2 medications 1.5 symptoms 1 phone+numbers 2 urls 2 url 1 iban 1 vat 1 order+id 2 tracking 1
        return+a 1 as+json 2.5 json+array 2 measurement 1.5 questions+a 1 start+and 1 author 1 citation 1.5 """,
    "classification": """
        classify 4 classification 3 categorise 3.5 categorize 3.5 category 2 categories 2 label 2.5 labels 2 tag 2
        sentiment 3.5 spam 3 positive 2 negative 2 neutral 2 intent 2.5 toxic 3 genre 2.5 priority 2 urgency 3
        klassifiziere 4 classe 2.5 clasifica 4 classifica 4 classifier 3 stimmung 2 or+not 1.5 yes+or 2.5 or+no 1.5
        true+or 2.5 or+false 2 fact+or 2.5 or+opinion 2.5 which+department 3 department 1 sort 1.5 into 0.3
        is+this 1.5 which+of 1 clickbait 3 sarcasm 3 phishing 3 fake+or 3 or+genuine 2 formality 3 formal+or 2.5
        agreement+or 2 complaint 1.5 emotion 2.5 is+the 0.5 what+genre 3 which+language 2.5 mammals 2 reptiles 2
        allowed 1 rate+the 2 p1 2 or+negative 3 positive+or 3 positiva 2 negativa 2 positivo 2 negativo 2 réclamation 1
        expenses 1.5 transaction 1 categorise+these 2 topic 1.5 question+or 2 or+a 0.5 """,
    "summarisation": """
        summarise 4 summarize 4 summary 3.5 summaries 3 summarising 3.5 summarizing 3.5 tl 2 dr 2 tldr 4 condense 3.5
        recap 3.5 gist 3.5 takeaways 3.5 key+points 2.5 main+points 3 abstract 1.5 shorten 3 boil 2.5 sum+up 3.5
        one+sentence 1.5 two+sentences 2 short+version 3 outline 2 zusammenfassung 4 fasse 3.5 zusammen 1.5 résume 3.5
        résumé 3 resume 3 resumen 3.5 riassumi 4 riassunto 3.5 resumo 3.5 resuma 3.5 bullet+points 1 status+update 2
        essentials 2 in+plain 1 plain+english 1.5 themes 1.5 common+themes 2 executive 1 brief 1 stichpunkten 2
        few+words 2 pocas+palabras 2 """,
    "translation": """
        translate 4.5 translation 4 translated 4 übersetze 4.5 übersetzen 4.5 übersetzung 4 traduis 4.5 traduire 4.5
        traduce 4.5 traducir 4.5 traduci 4.5 tradurre 4.5 traduza 4.5 traduzir 4.5 vertaal 4.5 how+do 0.3 you+say 3
        would+you 0.3 i+say 3 in+english 2 into+english 2.5 english+to 2.5 to+english 2.5 into+french 2.5
        into+german 2.5 into+spanish 2.5 mean+in 2 render+this 1.5 french 1.5 german 1.5 spanish 1.5 japanese 1.5
        italian 1.5 chinese 1.5 korean 1.5 dutch 1.5 portuguese 1.5 russian 1.5 arabic 1.5 polish 1.5 swedish 1.5
        turkish 1.5 hindi 1.5 greek 1.5 swahili 1.5 thai 1.5 vietnamese 1.5 englische 2 französische 2 spanische 2
        anglais 2 espagnol 2 allemand 2 inglés 2 ingles 2 inglese 2 inglês 2 ingles 2 alemán 2 francés 2 """,
    "writing": """
        write 1.5 poem 3.5 poems 3 story 3 stories 2.5 essay 3 letter 2.5 cover+letter 3 toast 3 speech 3 slogan 3.5
        lyrics 3.5 song 2.5 haiku 3.5 limerick 3.5 blog 3 post 1.5 caption 3.5 tagline 3.5 product+description 3
        press+release 3.5 eulogy 3.5 fairy 2.5 tale 2.5 novel 2.5 paragraph 1 dialogue 2.5 rewrite 3 draft 3
        compose 3 roleplay 3.5 pretend 3 act+as 3 invitation 3 einladung 3 card 1.5 message 1 reply 2 note 1.5
        thank-you 2 apology 2.5 intro 2 opening 1.5 persuasive 2.5 engaging 2.5 brochure 2.5 bedtime 3 catchy 3
        linkedin 2.5 instagram 2.5 announcing 2 announcement 2 job+posting 3 professional 1.5 gedicht 3.5 schreibe 1.5
        schreib 1.5 écris 1.5 lettre 2.5 motivation 1 escribe 1.5 cuento 3 scrivi 1.5 discorso 3 poema 3 poème 3
        geschichte 2.5 histoire 2.5 greeting 1.5 innkeeper 2 email 1 make+this 1.5 sound+more 2 """,
    "chat": """
        hi 3 hello 3 hey 3 thanks 2.5 thank 1 good+morning 3.5 good+night 3.5 how+are 3 joke 3 bored 3 recommend 2
        favourite 2.5 favorite 2.5 lol 3.5 haha 3.5 ok 2 cool 2 hallo 3 bonjour 3 hola 3 ciao 3 danke 3 geht 2
        ça+va 3 qué+tal 3 come+stai 3 chat 1.5 robot 2 who+are 3 your+name 3 hobbies 3 feeling 2 tired 2.5
        nervous 2 what+s 0.5 s+up 2.5 cheer 3 fun+fact 3 interesting 1.5 tips 1.5 ideas 1.5 podcasts 2 movie 2
        board+game 2.5 dinner 2 puppy 2.5 cat 1 weekend 2 sunday 2 marathon 2 you+like 2 do+you 1.5 are+you 1.5
        something 1 abend 2 schönen 2 me+up 2 for+tonight 1.5 """,
}


def _parse(spec: str) -> dict[str, float]:
    parts = spec.split()
    return {parts[i].replace("+", " "): float(parts[i + 1]) for i in range(0, len(parts), 2)}


# cue -> ((category, weight), ...): one lookup per distinct word and word pair
_INDEX: dict[str, tuple[tuple[str, float], ...]] = {}
for _cat, _spec in _CUES.items():
    for _cue, _w in _parse(_spec).items():
        _INDEX[_cue] = (*_INDEX.get(_cue, ()), (_cat, _w))

_OPERATORS = frozenset("=+*/^")

# built-in examples: what "nearest examples" shows for a built-in category, and extra coverage
_EXAMPLES: dict[str, tuple[str, ...]] = {
    "code": ("Write a Python function that parses a date string", "Why does this JavaScript throw undefined is not a function?",
             "Write a SQL query for the ten newest orders"),
    "math": ("Solve 2x + 5 = 17", "What is the probability of rolling two sixes?", "Compute the integral of x^2 from 0 to 3"),
    "reasoning": ("What are the trade-offs between renting and buying a house?", "Explain why this argument is flawed",
                  "Which option is better for a small team, and why?"),
    "extraction": ("Extract the names and dates from this text", "Pull the invoice number and total out of this email",
                   "Return the fields of this address as JSON"),
    "classification": ("Classify this review as positive or negative", "Is this message spam?",
                       "Label this ticket as billing, technical or account"),
    "summarisation": ("Summarise this article in three bullet points", "TL;DR of this thread", "Give me the gist of this report"),
    "translation": ("Translate this sentence into French", "How do you say 'good morning' in Japanese?",
                    "Übersetze diesen Text ins Englische"),
    "writing": ("Write a short poem about the sea", "Draft a polite email to my landlord", "Write a product description for a mug"),
    "chat": ("Hi, how are you?", "Tell me a joke", "Thanks, that helped!"),
}
_STOP = frozenset(
    "the a an of to in on for and or is are be this that these it its with as at by from my me i you your we our "
    "what which how can could please do does did will would should".split()
)


def task_words(text: str) -> list[str]:
    """The lower-cased words the classifier reads (both ends of a long text)."""
    if len(text) > _HEAD + _TAIL:
        text = text[:_HEAD] + "\n" + text[-_TAIL:]
    return text.lower().translate(_SPACE_OUT).split()


def cue_scores(words: Sequence[str], text: str) -> dict[str, float]:
    """Summed cue weights per built-in category (a word or word pair counts once)."""
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    # where a word sits: the instruction usually leads (cues there count 1.5x); after a colon
    # or a line break near the start comes the material it is about (cues there count 0.5x)
    cut = min((i for i in (text.find(":", 0, 300), text.find("\n", 0, 300)) if i > 0), default=-1)
    body = len(text[:cut].translate(_SPACE_OUT).split()) if cut > 0 else len(words)
    weight: dict[str, float] = {}
    for i, cue in enumerate(words):
        w = 1.5 if i < _LEAD else 1.0 if i < body else 0.5
        if w > weight.get(cue, 0.0):
            weight[cue] = w
    for i, cue in enumerate(pairs):
        w = 1.5 if i < _LEAD - 1 else 1.0 if i < body - 1 else 0.5
        if w > weight.get(cue, 0.0):
            weight[cue] = w
    scores: dict[str, float] = {}
    for cue, boost in weight.items():
        hits = _INDEX.get(cue)
        if hits is not None:
            for cat, w in hits:
                scores[cat] = scores.get(cat, 0.0) + w * boost
    # structure: code fences and code punctuation; operators between digits or a variable
    if "```" in text or "def " in text or "();" in text or "=>" in text or "#include" in text:
        scores["code"] = scores.get("code", 0.0) + 3.0
    elif "{" in text and ("}" in text and ";" in text):
        scores["code"] = scores.get("code", 0.0) + 1.5
    if _OPERATORS.intersection(text):
        digits = sum(c.isdigit() for c in text[:200])
        if digits:
            scores["math"] = scores.get("math", 0.0) + (1.0 if digits < 3 else 1.5)
    return scores


@dataclass(frozen=True)
class TaskMatch:
    """A classification: the category, its score in [0, 1], every category's score, and why."""

    category: str
    score: float
    scores: Mapping[str, float]
    nearest: tuple[tuple[str, float], ...] = ()  # (example prompt, similarity), best first
    cues: float = 0.0  # the winning category's summed cue weight

    def to_dict(self) -> dict[str, Any]:
        top = sorted(self.scores.items(), key=lambda kv: -kv[1])[:3]
        return {
            "category": self.category,
            "score": round(self.score, 3),
            "runner_up": [[c, round(s, 3)] for c, s in top[1:]],
            "nearest": [[text, round(sim, 3)] for text, sim in self.nearest],
        }


class TaskClassifier:
    """Built-in cue lexicons plus nearest examples; ``examples`` adds or widens categories.

    A category's score combines its cue weight ``c`` (as ``c / (c + 2)``) and the similarity of
    the prompt to its nearest example ``s`` (IDF-weighted word overlap, cosine) as ``1 - (1 -
    cue)(1 - s)``. Below ``min_score`` the request is ``default``.
    """

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]] | None = None,
        *,
        builtin: bool = True,
        default: str = "chat",
        min_score: float = 0.25,
        example_weight: float = 1.0,
    ) -> None:
        number(min_score, "task.min_score", minimum=0, maximum=1)
        number(example_weight, "task.example_weight", minimum=0)
        user = {str(k): tuple(str(p) for p in v) for k, v in (examples or {}).items()}
        for cat, prompts in user.items():
            if not prompts:
                raise ConfigError(f"category {cat!r} needs at least one example prompt", path=f"task.examples.{cat}")
        self.builtin = builtin
        self.categories: tuple[str, ...] = tuple(dict.fromkeys([*(CATEGORIES if builtin else ()), *user]))
        if not self.categories:
            raise ConfigError("no categories: give examples or keep the built-in ones", path="task.examples")
        if default not in self.categories:
            raise ConfigError(f"default {default!r} is not a category; known: {list(self.categories)}", path="task.default")
        self.default = default
        self.min_score = float(min_score)
        self.example_weight = float(example_weight)
        self.user_categories = tuple(user)
        docs: list[tuple[str, str, frozenset[str], float]] = []
        sources = [*((c, p, _BUILTIN_EXAMPLE_WEIGHT) for c, p in _EXAMPLES.items())] if builtin else []
        sources += [(c, p, 1.0) for c, p in user.items()]
        for cat, prompts, weight in sources:
            for p in prompts:
                docs.append((cat, p, frozenset(w for w in task_words(p) if w not in _STOP), weight))
        df: dict[str, int] = {}
        for _, _, ws, _ in docs:
            for w in ws:
                df[w] = df.get(w, 0) + 1
        n = len(docs) or 1
        self._idf = {w: math.log(1.0 + n / c) for w, c in df.items()}
        self._docs = [(cat, p, (math.sqrt(sum(self._idf[w] ** 2 for w in ws)) or 1.0) / wt) for cat, p, ws, wt in docs]
        self._postings: dict[str, list[int]] = {}
        for i, (_, _, ws, _) in enumerate(docs):
            for w in ws:
                self._postings.setdefault(w, []).append(i)

    def __repr__(self) -> str:
        return f"TaskClassifier(categories={list(self.categories)}, default={self.default!r})"

    def classify(self, text: str, *, nearest: int = 2) -> TaskMatch:
        words = task_words(text)
        cues = cue_scores(words, text) if self.builtin else {}
        scores = {cat: c / (c + 2.0) for cat, c in cues.items()}
        sims = self._similar(words)
        best_by_cat: dict[str, float] = {}
        for i, s in sims.items():
            cat = self._docs[i][0]
            if s > best_by_cat.get(cat, 0.0):
                best_by_cat[cat] = s
        for cat, s in best_by_cat.items():
            s = min(1.0, s * self.example_weight)
            scores[cat] = 1.0 - (1.0 - scores.get(cat, 0.0)) * (1.0 - s)
        category, score = self.default, 0.0
        for cat, s in scores.items():
            if s > score:
                category, score = cat, s
        if score < self.min_score:
            category = self.default
        ranked = sorted(((s, i) for i, s in sims.items() if self._docs[i][0] == category), reverse=True)[:nearest]
        return TaskMatch(category, score, scores, tuple((self._docs[i][1], s) for s, i in ranked), cues.get(category, 0.0))

    def _similar(self, words: Sequence[str]) -> dict[int, float]:
        query = {w for w in words if w in self._postings}
        if not query:
            return {}
        qnorm = math.sqrt(sum(self._idf[w] ** 2 for w in set(words) - _STOP if w in self._idf)) or 1.0
        dots: dict[int, float] = {}
        for w in query:
            weight = self._idf[w] ** 2
            for i in self._postings[w]:
                dots[i] = dots.get(i, 0.0) + weight
        return {i: d / (qnorm * self._docs[i][2]) for i, d in dots.items()}


_builtin_classifier: TaskClassifier | None = None


def classify(text: str) -> TaskMatch:
    """The built-in classifier's verdict on ``text`` (no user categories)."""
    global _builtin_classifier
    if _builtin_classifier is None:
        _builtin_classifier = TaskClassifier()
    return _builtin_classifier.classify(text)


def _last_user_text(messages: Sequence[Message]) -> str:
    last = ""
    for message in messages:
        if message.get("role") == "user":
            text = message_text(message)
            if text is not None:
                last = text
    return last


class Task:
    """Rank the models named for the request's task category first.

    ``routes`` maps a category to model names in preference order; models not named for the
    category keep their incoming order after them (``strict=True`` drops them instead, unless
    no named model is a candidate). ``examples`` maps categories (new or built-in) to a few
    example prompts. ``metadata={"task": "code"}`` on a request overrides the classifier.
    The verdict's data holds the category, its score, the runner-up categories and the
    nearest examples.
    """

    name = "task"

    def __init__(
        self,
        routes: Mapping[str, Sequence[str]] | None = None,
        examples: Mapping[str, Sequence[str]] | None = None,
        *,
        default: str = "chat",
        min_score: float = 0.25,
        strict: bool = False,
        builtin: bool = True,
    ) -> None:
        self.classifier = TaskClassifier(examples, builtin=builtin, default=default, min_score=min_score)
        self.routes: dict[str, tuple[str, ...]] = {}
        for cat, models in (routes or {}).items():
            if cat not in self.classifier.categories:
                raise ConfigError(
                    f"unknown category {cat!r}; known: {list(self.classifier.categories)} (add one with examples=)",
                    path=f"task.routes.{cat}",
                )
            if isinstance(models, str):
                raise ConfigError(f"give a list of model names, got {models!r}", path=f"task.routes.{cat}")
            self.routes[cat] = tuple(str(m) for m in models)
        self.strict = strict

    def __repr__(self) -> str:
        return f"Task(routes={self.routes}, categories={list(self.classifier.categories)})"

    def classify(self, messages: Sequence[Message] | Request | str) -> TaskMatch:
        if isinstance(messages, Request):
            messages = messages.messages
        text = messages if isinstance(messages, str) else _last_user_text(messages)
        return self.classifier.classify(text)

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        wanted = request.metadata.get("task")
        if isinstance(wanted, str) and wanted in self.classifier.categories:
            match = TaskMatch(wanted, 1.0, {wanted: 1.0})
            why = f"task {wanted!r} requested"
        else:
            match = self.classify(request.messages)
            near = f"; nearest: {match.nearest[0][0][:60]!r}" if match.nearest else ""
            why = f"task {match.category} (score {match.score:.2f}){near}"
        named = self.routes.get(match.category, ())
        present = {m.name for m in candidates}
        first = [n for n in named if n in present]
        data = match.to_dict() | {"models": list(first)}
        if not named:
            return Verdict.keep_all(candidates, f"{why}; no models named for it", data=data)
        if self.strict and first:
            chosen = set(first)
            return Verdict(
                keep=tuple(first),
                dropped={m.name: f"not named for task {match.category!r}" for m in candidates if m.name not in chosen},
                reason=why,
                data=data,
            )
        rest = [m.name for m in candidates if m.name not in set(first)]
        return Verdict(keep=(*first, *rest), reason=f"{why} -> {', '.join(first) or 'none of its models available'} first", data=data)

"""A customer's full name split into first name, patronymic and surname, for letters that greet people right.

Russian and Ukrainian exports usually write the surname first ("Кузнецов Иван Петрович"), forms filled by
customers often the other way round ("Иван Кузнецов"). ``name_order`` per source says which; ``auto`` (the
default) decides per name: a patronymic ending (-ович, -івна …) fixes the order of a three-part name, a
common first name or a surname ending (-ов, -енко, -ский …) that of a two-part one, and when nothing is
known the name is read first-name-first, as written in Latin-script shops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORDERS = ("auto", "first_last", "last_first")

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_PATRONYMIC = ("ович", "евич", "ьич", "ич", "овна", "евна", "ична", "инична", "івна", "ївна", "оглы", "оглу",
               "кызы", "кизи")
#: Endings that mark a surname and no common first name (-ин/-ина are left out: Ирина, Константин).
_SURNAME = ("ов", "ова", "ев", "ева", "ёв", "ёва", "ский", "ская", "цкий", "цкая", "ской", "енко", "чук", "щук",
            "юк", "ук", "як", "ян", "янц", "швили", "дзе", "их", "ых", "ко", "ів")
#: Common first names (lower case), Russian and Ukrainian, including short forms seen in order forms.
_FIRST = frozenset("""
александр александра алексей алла анастасия анатолий андрей анна антон арина артём артем богдан борис вадим
валентин валентина валерий валерия варвара василий вера вероника виктор виктория виталий владимир владислав
галина геннадий георгий глеб григорий дарья дарина денис дмитрий евгений евгения екатерина елена елизавета
жанна зинаида зоя иван игорь илья инна ирина кирилл константин кристина ксения лариса леонид лидия любовь
людмила максим маргарита марина мария матвей михаил надежда наталья наталия никита николай нина оксана олег
ольга павел полина роман руслан светлана семён семен сергей софья софия станислав степан тамара татьяна тимур
фёдор федор юлия юрий яна ярослав ярослава
андрій богдана василь віктор вікторія володимир галина ганна григорій дмитро євген євгенія іван ігор ірина
катерина костянтин леся микола михайло надія наталія оксана олег олександр олександра олексій олена ольга
павло петро роман сергій світлана соломія софія тарас тетяна юлія юрій ярина
саша маша даша паша миша лёша леша дима женя катя наташа настя таня оля юля ира аня вова коля
""".split())


@dataclass(frozen=True)
class PersonName:
    first: str = ""
    middle: str = ""  # the patronymic, when known
    last: str = ""

    @property
    def greeting(self) -> str:
        """How a letter addresses the customer politely: first name and patronymic when known."""
        return f"{self.first} {self.middle}".strip() if self.middle else self.first


def split_name(full: str | None, order: str = "auto") -> PersonName:
    """Split ``full`` by ``order`` (one of :data:`ORDERS`); words that are not letters are ignored."""
    words = _WORD.findall(full or "")
    if not words:
        return PersonName()
    if len(words) == 1:  # "Кузнецов" alone is no first name to greet with
        word = words[0]
        surname = order == "last_first" or (order == "auto" and _is_surname(word))
        return PersonName(last=word) if surname and not _is_first(word) else PersonName(first=word)
    if order == "auto":
        order = _guess(words)
    if order == "last_first":
        last, first, rest = words[0], words[1], words[2:]
    else:
        first, rest, last = words[0], words[1:-1], words[-1]
    return PersonName(first=first, middle=" ".join(rest), last=last)


def _guess(words: list[str]) -> str:
    if len(words) >= 3:
        if _is_patronymic(words[-1]):  # Кузнецов Иван Петрович
            return "last_first"
        if _is_patronymic(words[1]):  # Иван Петрович Кузнецов
            return "first_last"
    head, tail = words[0], words[-1] if len(words) == 2 else words[1]
    if _is_first(head) and not _is_first(tail):
        return "first_last"
    if _is_first(tail) and not _is_first(head):
        return "last_first"
    if _is_surname(head) and not _is_surname(tail):
        return "last_first"
    return "first_last"


def _is_patronymic(word: str) -> bool:
    w = word.lower()
    return len(w) >= 5 and w.endswith(_PATRONYMIC) and w not in _FIRST


def _is_surname(word: str) -> bool:
    w = word.lower()
    return len(w) >= 4 and w.endswith(_SURNAME) and w not in _FIRST


def _is_first(word: str) -> bool:
    w = word.lower()
    return w in _FIRST or w.replace("ё", "е") in _FIRST

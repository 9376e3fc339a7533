"""Word lists of the length instructions sagepred reads in languages other than English.

One :class:`LanguageGrammar` per language: its number words, the nouns of each unit (every inflection),
the words around a count that bound it ("at most", "about"), the cues that make a sentence a request,
and the ones that make a count someone else's (a text that exists, a quoted rule, a question about a
count, a rate). :mod:`sagepred.length_instructions_multilingual` reads prompts with them. The lists
are regular-expression alternatives, matched case-insensitively on whole words (for Chinese and
Japanese, which have no spaces, on the characters alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


@dataclass(frozen=True)
class LanguageGrammar:
    """How one language states a length (alternatives of regular expressions, lower case)."""

    code: str = field(metadata={"help": "ISO 639-1 code"})
    numbers: Mapping[str, float] = field(metadata={"help": "number words and their values"})
    multipliers: Mapping[str, float] = field(metadata={"help": "hundred / thousand words"})
    units: Mapping[str, str] = field(metadata={"help": "unit -> its nouns, every inflection"})
    items: str = field(metadata={"help": "nouns of list items (ideas, tips, reasons…)"})
    list_verbs: str = field(metadata={"help": "verbs whose number is a list's size ('give me 5 …')"})
    lead_in: str = field(metadata={"help": "prepositions that size the answer just before a count"})
    at_most: str = field(metadata={"help": "upper bounds before a count"})
    at_least: str = field(metadata={"help": "lower bounds before a count"})
    about: str = field(metadata={"help": "approximations before a count"})
    range_join: str = field(metadata={"help": "what joins the ends of a range ('and', 'to')"})
    request: str = field(metadata={"help": "cues that a sentence asks for something"})
    describes: str = field(metadata={"help": "words just before a count that describe an existing text"})
    reported: str = field(metadata={"help": "someone else's rule in the count's sentence"})
    how_many: str = field(metadata={"help": "a question about a count ('how many words')"})
    rate: str = field(metadata={"help": "after the unit: a rate ('per day'), not a length"})
    one_word: str = field(metadata={"help": "'in one word'"})
    yes_no: str = field(metadata={"help": "'answer yes or no'"})
    short_answer: str = field(metadata={"help": "'just the number / the name'"})
    few_words: str = field(metadata={"help": "'in a few words' (read as three, as in English)"})
    brief: str = field(metadata={"help": "asking for a shorter answer than usual"})
    detailed: str = field(metadata={"help": "asking for a longer answer than usual"})
    stopwords: frozenset[str] = field(default=frozenset(), metadata={"help": "common words, to detect it"})
    at_most_after: str = field(default="", metadata={"help": "upper bounds after the unit (CJK: 以内)"})
    at_least_after: str = field(default="", metadata={"help": "lower bounds after the unit (CJK: 以上)"})
    about_after: str = field(default="", metadata={"help": "approximations after the unit (CJK: 左右)"})
    no_spaces: bool = field(default=False, metadata={"help": "written without spaces (Chinese, Japanese)"})
    lead_after: str = field(
        default="(?!)", metadata={"help": "postpositions after the unit that size the answer (ja: で)"}
    )
    modal: str = field(
        default="(?!)", metadata={"help": "'must / should / may be' (a rule, whose is not said)"}
    )
    each: str = field(
        default="(?!)", metadata={"help": "'each / every' (a length per item, not the answer's)"}
    )
    possessive: str = field(
        default="(?!)", metadata={"help": "'my / our' before a count (the user's own text)"}
    )
    forms: Mapping[str, float] = field(default_factory=dict, metadata={"help": "fixed forms -> their length"})
    answer_subject: str = field(
        default="(?!)", metadata={"help": "the answer as a rule's subject ('your answers')"}
    )
    explains_code: str = field(
        default="(?!)", metadata={"help": "asking what pasted code does ('explica este código')"}
    )
    own_task: str = field(
        default="(?!)",
        metadata={"help": "the user's own writing task ('I have to write …'): its count is theirs"},
    )
    superlative: str = field(
        default="(?!)",
        metadata={"help": "a ranked list, '{n}' for its size ('las 5 mejores', 'die 5 wichtigsten')"},
    )
    speeches: str = field(
        default="(?!)", metadata={"help": "texts to be spoken, timed in minutes ('un discurso de 3 minutos')"}
    )
    minutes: str = field(default="(?!)", metadata={"help": "minute words, for a spoken text's length"})
    seconds: str = field(default="(?!)", metadata={"help": "second words, for a spoken text's length"})
    code_only: str = field(
        default="(?!)",
        metadata={
            "help": "asking for code alone ('solo el código', 'sin explicación' in a request for code)"
        },
    )
    reasons: str = field(
        default="(?!)",
        metadata={"help": "asking for reasons after a closed answer ('… y explica por qué')"},
    )
    no_reasons: str = field(
        default="(?!)",
        metadata={"help": "a negation beside a word of reasons ('sin explicación', '理由はいらない')"},
    )


SPANISH = LanguageGrammar(
    code="es",
    reasons=r"expl[ií]ca(?:me|lo|nos)?|explicaci[oó]n|justifica|razona|argumenta|por qu[eé]",
    no_reasons=r"\b(?:sin|no|nada de)\b",
    numbers={
        "un": 1,
        "uno": 1,
        "una": 1,
        "dos": 2,
        "tres": 3,
        "cuatro": 4,
        "cinco": 5,
        "seis": 6,
        "siete": 7,
        "ocho": 8,
        "nueve": 9,
        "diez": 10,
        "once": 11,
        "doce": 12,
        "trece": 13,
        "catorce": 14,
        "quince": 15,
        "dieciséis": 16,
        "veinte": 20,
        "veinticinco": 25,
        "treinta": 30,
        "cuarenta": 40,
        "cincuenta": 50,
        "sesenta": 60,
        "setenta": 70,
        "ochenta": 80,
        "noventa": 90,
        "cien": 100,
        "media": 0.5,
        "medio": 0.5,
        "doscientas": 200,
        "doscientos": 200,
        "trescientas": 300,
        "trescientos": 300,
        "cuatrocientas": 400,
        "cuatrocientos": 400,
        "quinientas": 500,
        "quinientos": 500,
        "seiscientas": 600,
        "setecientas": 700,
        "ochocientas": 800,
        "novecientas": 900,
    },
    multipliers={"ciento": 100, "mil": 1000},
    units={
        "word": r"palabras?",
        "token": r"tokens?",
        "sentence": r"frases?|oraci[oó]n|oraciones",
        "paragraph": r"p[aá]rrafos?",
        "page": r"p[aá]ginas?|cuartillas?|folios?|carillas?",
        "line": r"l[ií]neas?|versos?",
        "stanza": r"estrofas?",
        "character": r"caracteres|car[aá]cter",
    },
    items=(
        r"ideas?|consejos?|ejemplos?|razones|motivos|formas|maneras|opciones|pasos|puntos|nombres|"
        r"t[ií]tulos|preguntas|sugerencias|recomendaciones|tips|vi[ñn]etas|alternativas|argumentos|"
        r"datos|curiosidades|beneficios|ventajas|desventajas|estrategias|frases?|eslóganes|esl[oó]ganes"
    ),
    list_verbs=(
        r"dame|danos|d[eé]me|enumera|enumere|nombra|menciona|lista|sugiere|sugi[eé]reme|recomi[eé]ndame|"
        r"recomienda|prop[oó]n|prop[oó]nme|dime|genera|gen[eé]rame|escribe|escr[ií]beme|crea|"
        r"cr[eé]ame|proporciona|comparte|indica|da|necesito|quiero|prepara|prep[aá]rame|redacta|red[aá]ctame|elabora"
    ),
    lead_in=r"en|de|a",
    at_most=(
        r"m[aá]ximo(?: de)?|como m[aá]ximo|m[aá]x\.?|no m[aá]s de|menos de|hasta|por debajo de|"
        r"(?:no )?(?:debe(?:n|r[aá]n?)? |deber[ií]an? |puede(?:n)? )?(?:sup(?:eres|ere|erar|eren)|pases? de|"
        r"pasar de|exced(?:as|a|er|an))(?: (?:las|los|de))?|no (?:te )?pases de"
    ),
    at_least=r"al menos|como m[ií]nimo|m[ií]nimo(?: de)?|por lo menos|no menos de|m[aá]s de",
    about=r"unas|unos|aproximadamente|aprox\.?|alrededor de|cerca de|sobre|en torno a|m[aá]s o menos",
    range_join=r"y|a|-|–|o",
    request=(
        r"escribe|escr[ií]beme|redacta|red[aá]ctame|resume|res[uú]melo|res[uú]meme|"
        r"explica|expl[ií]came|dame|danos|d[eé]me|haz|hazme|genera|crea|enumera|"
        r"lista|menciona|nombra|describe|responde|resp[oó]ndeme|contesta|cu[eé]ntame|dime|"
        r"traduce|proporciona|sugiere|prop[oó]n|elabora|prepara|comp[oó]n|reescribe|escribi|"
        r"necesito|quiero|quisiera|me gustar[ií]a|puedes|podr[ií]as|podr[ií]a|pod[eé]s|por favor|porfa|"
        r"que sea|que sean|que tenga|que ocupe|usa|utiliza|lim[ií]tate|ajusta|redacte|escriba|explique|"
        r"indica|comparte|recomi[eé]ndame|ay[uú]dame|reduce|red[uú]celo|acorta|ac[oó]rtalo|compone|"
        r"imagina|inventa|cu[eé]ntame|sintetiza|amplía|ampl[ií]alo|alarga|al[aá]rgalo|exti[eé]ndelo"
    ),
    describes=(
        r"tiene(?! que)|ten[ií]a(?! que)|tienen(?! que)|contiene|ocupa|ocupaba|mide|consta de|cuenta con|es de|son|"
        r"(?:este|esta|ese|esa|el|la|mi|tu|su|del|al)\s+(?:texto|art[ií]culo|documento|libro|informe|"
        r"ensayo|novela|cap[ií]tulo|carta|trabajo|tesis)(?: \w+)? de"
    ),
    reported=(
        r"dice|dijo|dicen|pide que|piden que|exige|exigen|exig[ií]an|seg[uú]n|l[ií]mite de|quiere|quieren|ped[ií]a|"
        r"admite|permite"
    ),
    how_many=r"cu[aá]nt[oa]s?|cu[aá]l es el n[uú]mero",
    rate=r"(?:por|al|cada) (?:d[ií]a|p[aá]gina|minuto|hora|semana|mes)|diari[oa]s",
    one_word=r"(?:en|con) (?:una sola|una|un[ao] [uú]nica) palabra|una sola palabra|solo una palabra",
    yes_no=r"s[ií] o no|s[ií]/no|\(s[ií]/no\)|[\"«“']?verdadero[\"»”']? o [\"«“']?falso",
    short_answer=(
        r"(?:solo|s[oó]lo|solamente|[uú]nicamente|exclusivamente) (?:con )?(?:el|la|los|un|una) (?:n[uú]mero|nombre|resultado|"
        r"respuesta|c[oó]digo|letra|fecha|etiqueta|categor[ií]a|emoji|apellido|puntuaci[oó]n|nota|valor|palabra)|"
        r"sin explicaci[oó]n(?:es)?|(?:solo|s[oó]lo|solamente|[uú]nicamente|exclusivamente) con (?:la|el) "
        r"(?:letra|n[uú]mero|nombre|opci[oó]n)|(?:solo|s[oó]lo|solamente|[uú]nicamente|exclusivamente) (?:con )?(?:una|uno) "
        r"(?:sola )?de (?:estas|estos|las siguientes|los siguientes|las|los) (?:etiquetas|categor[ií]as|opciones|"
        r"intenciones|palabras|valores)|en formato (?:DD/MM/AAAA|AAAA-MM-DD|DD-MM-AAAA)(?: y nada m[aá]s)?"
    ),
    few_words=r"en (?:pocas|unas pocas|muy pocas) palabras",
    brief=(
        r"brevemente|breve|(?:respuesta|resumen|explicaci[oó]n|texto) cort[oa]|s[eé] breve|de forma concisa|cortit[oa]|"
        r"concis[oa]|resumid[oa]|resumidamente|en resumen|sin rodeos|de forma breve|al grano|sin rollos|"
        r"sin (?:muchos |tantos )?detalles|m[aá]s cort[oa]|(?:res[uú]melo|hazlo|hazla|que sea|responde|"
        r"contesta|versi[oó]n) cort[oa]|no te enrolles|sin enrollarte|(?:muy )?por encima"
    ),
    detailed=(
        r"en detalle|detalladamente|detallad[oa]s?|a fondo|exhaustiv[oa]|exhaustivamente|extens[oa]|"
        r"en profundidad|minuciosamente|con mucho detalle|lo m[aá]s completo posible|completa y detallada|"
        r"m[aá]s (?:larg[oa]|complet[oa]|detallad[oa])|desarrolla|ampl[ií]a|exti[eé]ndete|"
        r"con (?:todo )?lujo de detalles|larg[oa] y complet[oa]|complet[oa] y detallad[oa]"
    ),
    modal=r"debe|deben|deber[ií]a|tiene que|tienen que|ha de|puede|pueden|es|son",
    each=r"cada",
    possessive=r"mis?|nuestr[oa]s?|tengo|llevo",
    forms={
        r"haikus?": 20.0,
        r"limericks?": 34.0,
        r"sonetos?": 130.0,
        r"tuits?|tweets?": 55.0,
        r"cuartetas?": 40.0,
    },
    explains_code=(
        r"(?:expl[ií]ca|describe|resume|comenta)\w*\b.{0,60}?\b(?:c[oó]digo|funci[oó]n|script|"
        r"consulta|regex|programa|fragmento)|qu[eé] hace (?:este|esta|el|la|mi)\s+(?:c[oó]digo|"
        r"funci[oó]n|script|consulta|programa)"
    ),
    own_task=r"tengo que|tenemos que|debo (?:escribir|entregar|hacer)",
    superlative=r"(?:los|las) {n} (?:\w+ )?(?:mejores|peores|m[aá]s|principales|mayores|primer[oa]s)",
    answer_subject=r"(?:tu|tus|la|las|el|sus?) (?:respuestas?|texto|resumen)|respuestas?",
    stopwords=word_set(
        "el los las del al una unos unas es son está están fue ser estar hay muy más pero porque "
        "cuando donde qué cómo cuál cuáles cuánto cuántos quién mi mis tu tus su sus yo tú él ella "
        "nosotros usted ustedes le les lo se sí también ya todo todos nada algo sobre entre hasta "
        "desde sin según ese esa este esta esto eso aquí ahora hoy mañana puedo puedes quiero tengo "
        "hacer como para por con y favor gracias hola palabras dame dime explica escribe eres estoy"
    ),
    speeches=r"discurso|charla|presentaci[oó]n|brindis|mon[oó]logo|serm[oó]n|pitch|ponencia|mensaje de voz|gui[oó]n",
    minutes=r"minutos?",
    seconds=r"segundos?",
    code_only=(
        r"(?:solo|s[oó]lo|[uú]nicamente|nada m[aá]s que) (?:con )?(?:el|la|los|las) (?:[\w-]+ )?(?:c[oó]digo|consulta|"
        r"script|comando|funci[oó]n|regex|expresi[oó]n regular|f[oó]rmula|sql|archivo|configuraci[oó]n|"
        r"l[ií]neas? de c[oó]digo)|"
        r"sin (?:comentarios (?:ni|y) )?explicaci[oó]n(?:es)?|sin comentarios|no expliques|nada de rollo|sin rollos?"
    ),
)

PORTUGUESE = LanguageGrammar(
    code="pt",
    reasons=r"expli(?:que|ca|ca[cç][aã]o|ca[cç][oõ]es)|justifi(?:que|ca)|por ?qu[eê]|argumente|argumentos",
    no_reasons=r"\b(?:sem|n[aã]o|nada de)\b",
    numbers={
        "um": 1,
        "uma": 1,
        "dois": 2,
        "duas": 2,
        "três": 3,
        "tres": 3,
        "quatro": 4,
        "cinco": 5,
        "seis": 6,
        "sete": 7,
        "oito": 8,
        "nove": 9,
        "dez": 10,
        "onze": 11,
        "doze": 12,
        "treze": 13,
        "quinze": 15,
        "vinte": 20,
        "trinta": 30,
        "quarenta": 40,
        "cinquenta": 50,
        "sessenta": 60,
        "setenta": 70,
        "oitenta": 80,
        "noventa": 90,
        "cem": 100,
        "meia": 0.5,
        "meio": 0.5,
        "numa": 1,
        "num": 1,
        "duzentas": 200,
        "duzentos": 200,
        "trezentas": 300,
        "trezentos": 300,
        "quatrocentas": 400,
        "quatrocentos": 400,
        "quinhentas": 500,
        "quinhentos": 500,
        "seiscentas": 600,
        "setecentas": 700,
        "oitocentas": 800,
        "novecentas": 900,
    },
    multipliers={"cento": 100, "mil": 1000},
    units={
        "word": r"palavras?",
        "token": r"tokens?",
        "sentence": r"frases?|ora[cç][aã]o|ora[cç][oõ]es|per[ií]odos?",
        "paragraph": r"par[aá]grafos?",
        "page": r"p[aá]ginas?|laudas?|folhas?",
        "line": r"linhas?|versos?",
        "stanza": r"estrofes?",
        "character": r"caracteres|caractere",
    },
    items=(
        r"ideias?|dicas?|exemplos?|motivos|raz[oõ]es|formas|maneiras|op[cç][oõ]es|passos|pontos|nomes|"
        r"t[ií]tulos|perguntas|sugest[oõ]es|recomenda[cç][oõ]es|t[oó]picos|itens|alternativas|"
        r"argumentos|curiosidades|benef[ií]cios|vantagens|desvantagens|estrat[eé]gias|frases?|slogans|quest[oõ]es|"
        r"afirma[cç][oõ]es"
    ),
    list_verbs=(
        r"me d[êáa]|d[êá]|liste|listar|enumere|enumera|cite|cita|mencione|sugira|sugere|recomende|"
        r"indique|proponha|gere|crie|cria|escreva|escreve|fale|diga|preciso de|quero|me passa|lista|prepare|prepara|"
        r"elabore|elabora|fa[cç]a|faz"
    ),
    lead_in=r"em|de|a|para|numa|num",
    at_most=(
        r"no m[aá]ximo|m[aá]ximo(?: de)?|m[aá]x\.?|n[aã]o mais (?:do )?que|n[aã]o mais de|menos de|at[eé]|"
        r"abaixo de|(?:n[aã]o )?(?:deve(?:m)? |pode(?:m)? )?(?:passar|ultrapassar|exceder)(?: de| (?:as|os))?|"
        r"n[aã]o (?:passes?|ultrapasses?) (?:de|das|dos|as|os)"
    ),
    at_least=r"pelo menos|no m[ií]nimo|m[ií]nimo(?: de)?|n[aã]o menos (?:do )?que|mais de|ao menos",
    about=r"cerca de|aproximadamente|aprox\.?|uns|umas|por volta de|em torno de|mais ou menos|perto de",
    range_join=r"e|a|-|–|ou",
    request=(
        r"escreva|escreve|redija|resuma|resume|explique|explica|"
        r"me d[êáa]|d[êá]|fa[cç]a|faz|liste|enumere|crie|cria|gere|sugira|descreva|descreve|"
        r"responda|responde|traduza|elabore|prepare|cite|mencione|conte|diga|pode|poderia|podes|"
        r"voc[eê] pode|por favor|pfv|pf|preciso|quero|gostaria|queria|que seja|que tenha|use|utilize|"
        r"consegues|consegue|limite-se|ajude|me ajuda|me ajude|reescreva|recomende|indique|reduz|reduza|encurta|encurte|"
        r"diz|diga-me|diz-me|escreve-me|conta-me|explica-me|mostra|mostre|cria|componha|inventa|sintetiza|"
        r"me passa|passa|aumenta|alonga|estende"
    ),
    describes=(
        r"tem(?! que| de)|tinha(?! que)|t[eê]m(?! que)|cont[eé]m|possui|ocupa|[eé] de|s[aã]o|"
        r"(?:este|esta|esse|essa|o|a|meu|minha|seu|sua|do|da|no|na)\s+(?:texto|artigo|documento|livro|"
        r"relat[oó]rio|ensaio|romance|cap[ií]tulo|carta|trabalho|tese|tcc)(?: \w+)? de"
    ),
    reported=(
        r"diz que|disse que|dizem que|falou que|pede que|pedem que|pede|pedem|exige|exigem|exigia|segundo|limite de|quer|"
        r"querem"
    ),
    how_many=r"quant[oa]s?|qual [eé] o n[uú]mero",
    rate=r"(?:por|ao|a cada|cada) (?:dia|p[aá]gina|minuto|hora|semana|m[eê]s)|di[aá]ri[oa]s",
    one_word=(
        r"(?:em|com|numa) (?:uma |uma [uú]nica |uma s[oó] |s[oó] uma |[uú]nica )?palavra|"
        r"uma [uú]nica palavra|s[oó] uma palavra"
    ),
    yes_no=(
        r"sim ou n[aã]o|sim/n[aã]o|\(sim/n[aã]o\)|[\"«“']?verdadeiro[\"»”']? ou [\"«“']?falso|"
        r"um [\"«“']?sim[\"»”']? ou um [\"«“']?n[aã]o"
    ),
    short_answer=(
        r"(?:s[oó]|somente|apenas|unicamente|exclusivamente) (?:o|a|os|um|uma) (?:n[uú]mero|nome|resultado|resposta|"
        r"c[oó]digo|letra|data|palavra|ano|etiqueta|r[oó]tulo|categoria|emoji|apelido|sobrenome|nota)|"
        r"(?:s[oó]|somente|apenas|unicamente|exclusivamente) com (?:a|o|um|uma) (?:letra|n[uú]mero|nome|op[cç][aã]o|"
        r"etiqueta|r[oó]tulo|categoria|apelido|sobrenome|palavra|emoji)|so o nome|"
        r"(?:s[oó]|somente|apenas|unicamente|exclusivamente) (?:com )?(?:uma|um) (?:s[oó] )?d(?:estas|estes|as|os) "
        r"(?:etiquetas|categorias|op[cç][oõ]es|inten[cç][oõ]es|palavras)|em formato (?:DD/MM/AAAA|AAAA-MM-DD)|"
        r"sem explica[cç][aã]o|sem explica[cç][oõ]es"
    ),
    few_words=r"em (?:poucas|pouquíssimas) palavras",
    brief=(
        r"curtinh[oa]|brevemente|breve|resumidamente|resumid[oa]|(?:resposta|resumo|explica[cç][aã]o|texto) curt[oa]|"
        r"concis[oa]|sucint[oa]|sucintamente|de forma concisa|em resumo|direto ao ponto|rapidinho|"
        r"sem (?:muitos |grandes )?detalhes|mais curt[oa]|sem enrola[cç][aã]o|(?:de forma|bem|seja) curt[oa]|"
        r"curt[oa] e diret[oa]|rapid[aã]o|vers[aã]o curta"
    ),
    detailed=(
        r"em detalhes?|detalhad[oa]s?|detalhadinh[oa]|detalhadamente|aprofundad[oa]|a fundo|exaustiv[oa]|"
        r"exaustivamente|em profundidade|minuciosamente|bem complet[oa]|complet[oa] e detalhad[oa]|"
        r"mais (?:long[oa]|complet[oa]|detalhad[oa])|desenvolva|aprofunde|tintim por tintim|"
        r"com todo o pormenor|pormenorizad[oa]|minucios[oa]|todos os detalhes"
    ),
    modal=r"deve|devem|deveria|tem que|t[eê]m que|tem de|precisa|pode|podem|[eé]|s[aã]o",
    each=r"cada",
    possessive=r"meus?|minhas?|nossos?|nossas?|tenho|j[aá] tenho",
    forms={
        r"haicais?|haikus?": 20.0,
        r"limeriques?": 34.0,
        r"sonetos?": 130.0,
        r"tweets?|tuítes?": 55.0,
        r"quadras?": 40.0,
    },
    explains_code=(
        r"(?:expli(?:ca|que)|descreva|resuma|comente)\w*\b.{0,60}?\b(?:c[oó]digo|fun[cç][aã]o|script|"
        r"consulta|regex|programa|trecho)|o que faz (?:este|esta|esse|essa|o|a|meu|"
        r"minha)\s+(?:c[oó]digo|fun[cç][aã]o|script|consulta|programa)"
    ),
    own_task=r"tenho (?:que|de)|temos (?:que|de)|devo (?:escrever|entregar|fazer)",
    superlative=r"(?:os|as) {n} (?:\w+ )?(?:melhores|piores|mais|principais|maiores|primeir[oa]s)",
    answer_subject=r"(?:sua|suas|tua|tuas|a|as|o) (?:respostas?|texto|resumo)|respostas?",
    stopwords=word_set(
        "o os as um uma uns umas do da dos das no na nos nas ao aos pelo pela em é são está estão "
        "foi ser estar tem têm há muito mais mas porque quando onde que qual quais quanto quantos "
        "quantas quem meu minha meus minhas seu sua você vocês eu ele ela nós lhe se sim também já "
        "tudo todos nada algo sobre entre até desde sem segundo esse essa este esta isso isto aqui "
        "agora hoje amanhã posso pode quero tenho fazer como para por com e ou obrigado olá só não "
        "palavras escreva escreve diz numa pra"
    ),
    speeches=r"discurso|palestra|apresenta[cç][aã]o|brinde|mon[oó]logo|serm[aã]o|pitch|mensagem de voz|roteiro",
    minutes=r"minutos?",
    seconds=r"segundos?",
    code_only=(
        r"(?:s[oó]|somente|apenas) (?:com )?(?:o|a|os|as) (?:[\w-]+ )?(?:c[oó]digo|consulta|script|comando|"
        r"fun[cç][aã]o|regex|express[aã]o regular|f[oó]rmula|sql|arquivo|linhas? de c[oó]digo)|"
        r"sem explica[cç](?:[aã]o|[oõ]es)|sem coment[aá]rios|n[aã]o explique|n[aã]o precisa explicar"
    ),
)

FRENCH = LanguageGrammar(
    code="fr",
    reasons=r"expli(?:que|quez|quer|cation)|justifie[zr]?|argumente|pourquoi",
    no_reasons=r"\b(?:sans|pas|ne|aucune?)\b",
    numbers={
        "un": 1,
        "une": 1,
        "deux": 2,
        "trois": 3,
        "quatre": 4,
        "cinq": 5,
        "six": 6,
        "sept": 7,
        "huit": 8,
        "neuf": 9,
        "dix": 10,
        "onze": 11,
        "douze": 12,
        "treize": 13,
        "quinze": 15,
        "vingt": 20,
        "trente": 30,
        "quarante": 40,
        "cinquante": 50,
        "soixante": 60,
        "demi": 0.5,
        "demie": 0.5,
    },
    multipliers={"cent": 100, "cents": 100, "mille": 1000},
    units={
        "word": r"mots?(?! de passe)",
        "token": r"tokens?",
        "sentence": r"phrases?",
        "paragraph": r"paragraphes?",
        "page": r"pages?|feuillets?",
        "line": r"lignes?|vers",
        "stanza": r"strophes?|couplets?",
        "character": r"caract[eè]res?|signes",
    },
    items=(
        r"id[ée]es|conseils|exemples|raisons|[ée]tapes|suggestions|questions|noms|titres|options|"
        r"arguments|astuces|propositions|puces|points|fa[cç]ons|moyens|avantages|inconv[ée]nients|"
        r"slogans|strat[ée]gies|pistes|affirmations"
    ),
    list_verbs=(
        r"donne(?:-moi|z-moi)?|liste|listez|[ée]num[èe]re|[ée]num[ée]rez|cite|citez|propose(?:-moi)?|"
        r"proposez(?:-moi)?|sugg[èe]re(?:-moi)?|sugg[ée]rez|recommande(?:-moi)?|indique|trouve(?:-moi)?|"
        r"g[ée]n[èe]re|[ée]cris|[ée]crivez|fais|faites|il me faut|j'ai besoin de|lister|r[ée]dige|r[ée]digez|"
        r"pr[ée]pare(?:-moi)?|pr[ée]parez|cr[ée]e|cr[ée]ez"
    ),
    lead_in=r"en|de|sur|d'|[àa]",
    at_most=(
        r"maximum|max\.?|au maximum|au plus|pas plus de|moins de|jusqu'[àa]|ne d[ée]passant pas|"
        r"sans d[ée]passer|ne d[ée]passe pas|en dessous de|sous les|"
        r"(?:ne )?(?:doi(?:t|vent) |devr(?:a|ont|ait|aient) |peu(?:t|vent) )?(?:jamais |pas )?d[ée]passer(?: les)?"
    ),
    at_least=r"au moins|minimum|au minimum|pas moins de|plus de|min\.?",
    about=r"environ|[àa] peu pr[èe]s|autour de|aux alentours de|approximativement|dans les|une",
    range_join=r"et|[àa]|-|–|ou",
    request=(
        r"[ée]cris|[ée]crivez|r[ée]dige|r[ée]digez|r[ée]sume|r[ée]sumez|"
        r"explique|expliquez|donne|donnez|fais|faites|liste|listez|[ée]num[èe]re|propose|"
        r"proposez|cite|citez|d[ée]cris|d[ée]crivez|g[ée]n[èe]re|cr[ée]e|r[ée]ponds|r[ée]pondez|"
        r"traduis|traduisez|peux-tu|pouvez-vous|pourrais-tu|pourriez-vous|tu peux|vous pouvez|"
        r"j'ai besoin|il me faut|je veux|je voudrais|j'aimerais|s'il te pla[iî]t|s'il vous pla[iî]t|"
        r"stp|svp|merci de|reformule|r[ée][ée]cris|raconte|pr[ée]sente|sois|soyez|fais-moi|[ée]cris-moi|"
        r"compose|composez|imagine|invente|r[ée]duis|raccourcis|synth[ée]tise|dis-moi|donne-moi|explique-moi|"
        r"allonge|rallonge|fais-moi"
    ),
    describes=(
        r"fait|faisait|font|comporte|contient|compte|a|avait|ont|est de|sont|"
        r"(?:ce|cet|cette|le|la|l'|mon|ma|son|sa|du|au)\s*(?:texte|article|document|livre|rapport|roman|"
        r"chapitre|lettre|m[ée]moire|dossier)(?: \w+)? de"
    ),
    reported=(r"dit|disait|disent|exige|exigent|demande que|selon|d'apr[èe]s|limite de|veut|veulent|voulait"),
    how_many=r"combien",
    rate=r"par (?:jour|page|minute|heure|semaine|mois)|quotidien(?:ne)?s?",
    one_word=r"(?:en|d') ?un (?:seul )?mot|un seul mot",
    yes_no=r"oui ou non|oui/non|par oui ou par non|\(oui/non\)|[\"«“']?\s*vrai\s*[\"»”']? ou [\"«“']?\s*faux",
    short_answer=(
        r"(?:juste|seulement|uniquement|exclusivement) (?:avec |par )?(?:le|la|les|l'|un|une) ?(?:nombre|chiffre|nom|"
        r"r[ée]sultat|r[ée]ponse|code|lettre|date|mot|ann[ée]e|cat[ée]gorie|[ée]tiquette|label|emoji|note|score|"
        r"valeur|nom de famille)|sans explication|"
        r"(?:par|avec) (?:un seul|une seule|l'un|l'une) (?:de ces|des) (?:mots|[ée]tiquettes|cat[ée]gories|options|valeurs)|"
        r"au format (?:JJ/MM/AAAA|AAAA-MM-JJ)"
    ),
    few_words=r"en quelques mots|en peu de mots",
    brief=(
        r"bri[èe]vement|bref|br[èe]ve|(?:r[ée]ponse|r[ée]sum[ée]|explication|texte) courte?|concis[e]?|"
        r"succinct[e]?|succinctement|en r[ée]sum[ée]|synth[ée]tique|de mani[èe]re concise|sois bref|"
        r"soyez bref|rapidement|sans (?:trop de |entrer dans les |rentrer dans les )?d[ée]tails|"
        r"pas besoin de (?:rentrer|entrer) dans les d[ée]tails|plus court|(?:fais|faites|sois|soyez) court|"
        r"vite fait|version courte"
    ),
    detailed=(
        r"en d[ée]tails?|d[ée]taill[ée]e?s?|de mani[èe]re approfondie|approfondie?|exhaustive?|"
        r"exhaustivement|en profondeur|de fa[cç]on d[ée]taill[ée]e|tr[èe]s complet|compl[èe]te et d[ée]taill[ée]e|"
        r"plus (?:long(?:ue)?|complet|compl[èe]te|d[ée]taill[ée]e?)|d[ée]velopp(?:e|er|ez)"
    ),
    modal=r"doit|doivent|devrait|devraient|peut|peuvent|faut|est|sont",
    each=r"chaque|chacun|chacune",
    possessive=r"mon|ma|mes|notre|nos|j'ai|j'en ai",
    forms={
        r"ha[iï]kus?": 20.0,
        r"limericks?": 34.0,
        r"sonnets?": 130.0,
        r"tweets?": 55.0,
        r"quatrains?": 40.0,
    },
    explains_code=(
        r"(?:expliqu|d[ée]cri|r[ée]sum|comment)\w*\b.{0,60}?\b(?:code|fonction|script|requ[êe]te|"
        r"regex|programme)|(?:code|fonction|script|programme)\b.{0,40}?\bce qu'(?:il|elle) fait|"
        r"que fait (?:ce|cette|le|la|mon|ma)\s+(?:code|fonction|script|programme|requ[êe]te)"
    ),
    own_task=r"je dois|on doit|nous devons|j'ai (?:à|un|une) (?:écrire|rendre)",
    superlative=(
        r"(?:les|des) {n} (?:\w+ )?(?:les |la |le )?(?:meilleur(?:e)?s|pires|plus|principa(?:les|ux)|"
        r"premi[eè]re?s|grand(?:e)?s)"
    ),
    answer_subject=r"(?:tes|ta|vos|votre|la|les|le) (?:r[ée]ponses?|texte|r[ée]sum[ée])|r[ée]ponses?",
    stopwords=word_set(
        "le la les un une des du au aux est sont était être avoir ont il elle ils elles nous vous "
        "je tu ce cet cette ces mon ma mes ton ta tes son sa ses leur qui que quoi quel quelle "
        "quels quelles où quand comment pourquoi combien très plus mais ou donc car pas ne rien "
        "tout tous avec pour dans sur sous chez entre sans selon bonjour merci oui non aussi déjà "
        "encore ici maintenant aujourd'hui c'est qu'est-ce mots écris explique donne moi"
    ),
    speeches=r"discours|expos[ée]|pr[ée]sentation|toast|monologue|serm[oó]n|pitch|allocution|message vocal|annonce vocale",
    minutes=r"minutes?",
    seconds=r"secondes?",
    code_only=(
        r"(?:uniquement|seulement|juste|rien que) (?:le|la|les) (?:code|requ[eê]te|script|commande|fonction|regex|"
        r"expression r[ée]guli[èe]re|formule|fichier|lignes? de code)|sans explications?|pas d'explications?|sans commentaires?|"
        r"n'explique pas|sans blabla"
    ),
)

ITALIAN = LanguageGrammar(
    code="it",
    reasons=r"spiega(?:mi|re|zione)?|motiva(?:zione)?|giustifica|perch[eé]",
    no_reasons=r"\b(?:senza|non|niente)\b",
    numbers={
        "un": 1,
        "uno": 1,
        "una": 1,
        "due": 2,
        "tre": 3,
        "quattro": 4,
        "cinque": 5,
        "sei": 6,
        "sette": 7,
        "otto": 8,
        "nove": 9,
        "dieci": 10,
        "undici": 11,
        "dodici": 12,
        "tredici": 13,
        "quindici": 15,
        "venti": 20,
        "trenta": 30,
        "quaranta": 40,
        "cinquanta": 50,
        "sessanta": 60,
        "settanta": 70,
        "ottanta": 80,
        "novanta": 90,
        "mezza": 0.5,
        "mezzo": 0.5,
    },
    multipliers={"cento": 100, "mille": 1000, "mila": 1000},
    units={
        "word": r"parol[ae]",
        "token": r"tokens?",
        "sentence": r"fras[ei]",
        "paragraph": r"paragraf[oi]|capovers[oi]",
        "page": r"pagin[ae]|cartell[ae]|facciat[ae]",
        "line": r"righ[ea]|rig[ah]e?|line[ae]|vers[oi]",
        "stanza": r"strof[ae]",
        "character": r"caratter[ei]|battute",
    },
    items=(
        r"idee|consigli|esempi|motivi|ragioni|modi|opzioni|passi|passaggi|punti|nomi|titoli|domande|"
        r"suggerimenti|alternative|argomenti|curiosit[aà]|vantaggi|svantaggi|strategie|slogan|spunti"
    ),
    list_verbs=(
        r"dammi|datemi|mi dai|elenca|elencami|elencate|cita|citami|nomina|suggerisci(?:mi)?|"
        r"consigliami|proponi(?:mi)?|indica(?:mi)?|genera|scrivi|scrivimi|trova(?:mi)?|mi servono|voglio|"
        r"prepara(?:mi)?|crea(?:mi)?|prepari|redigi"
    ),
    lead_in=r"in|di|da|a",
    at_most=(
        r"massimo|al massimo|max\.?|non pi[uù] di|meno di|entro (?:le|i)?|fino a|sotto (?:le|i)|"
        r"(?:non )?(?:deve |devono |dovrebbe(?:ro)? |pu[oò] |possono )?superare(?: (?:le|i|gli))?"
    ),
    at_least=r"almeno|minimo|come minimo|non meno di|pi[uù] di|min\.?",
    about=r"circa|pi[uù] o meno|intorno a(?:lle|i)?|sulle|sui|all'incirca|approssimativamente|una",
    range_join=r"e|a|-|–|o",
    request=(
        r"scrivi|scrivimi|scriva|redigi|preparami|prepari|preparatemi|riassumi|spiega|spiegami|dammi|"
        r"fammi|fai|elenca|descrivi|crea|genera|proponi|suggerisci|rispondi|traduci|prepara|puoi|"
        r"potresti|pu[oò] (?:(?:per favore|gentilmente|mi|ci) )?(?:scriver\w*|preparar\w*|redigere|riassumer\w*|"
        r"spiegar\w*|fare|farmi|darmi|dare|elencar\w*|descriver\w*|crear\w*|generar\w*|proporr\w*|suggerir\w*|"
        r"risponder\w*|tradurr\w*|raccontar\w*|riscriver\w*|indicar\w*|mandar\w*|inviar\w*)|"
        r"per favore|per piacere|perfavore|ho bisogno|mi serve|mi servono|vorrei|"
        r"voglio|racconta|raccontami|riscrivi|usa|utilizza|sii|che sia|che abbia|illustra|presenta|cita|"
        r"riduci|riducilo|riducila|accorcia|accorcialo|sintetizza|componi|inventa|immagina|dimmi|fammi|"
        r"allunga|allungalo|estendi"
    ),
    describes=(
        r"ha|aveva|hanno|contiene|conta|[eè] di|sono|occupa|ho scritto|abbiamo scritto|"
        r"(?:questo|questa|quest'|il|la|l'|lo|mio|mia|del|della|dello|nel|nella)\s*(?:testo|articolo|"
        r"documento|libro|relazione|saggio|romanzo|capitolo|lettera|tesi)(?: \w+)? (?:di|da)"
    ),
    reported=(r"dice|diceva|dicono|chiede che|richiede|richiedono|secondo|limite di|vuole|vogliono|voleva"),
    how_many=r"quant[oaie]",
    rate=r"(?:al|per|ogni) (?:giorno|pagina|minuto|ora|settimana|mese)|giornalier[ie]",
    one_word=r"(?:in|con) una (?:sola )?parola|una sola parola",
    yes_no=r"s[iì] o no|s[iì]/no|\(s[iì]/no\)|[\"«“']?vero[\"»”']? o [\"«“']?falso",
    short_answer=(
        r"(?:solo|soltanto|solamente|esclusivamente|unicamente) (?:con )?(?:il|la|i|le|l'|un|una) ?(?:numero|nome|"
        r"risultato|risposta|codice|lettera|data|parola|anno|etichetta|categoria|emoji|cognome|voto|punteggio|valore|"
        r"partita iva|cifra)|senza spiegazion[ei]|"
        r"con (?:un'unica|una sola|un solo|un unico) (?:emoji|parola|cifra|lettera|etichetta|numero)|"
        r"(?:solo|soltanto) (?:una|uno) (?:sola |solo )?(?:di|tra) (?:queste|questi) (?:etichette|categorie|opzioni|parole)|"
        r"nel formato (?:GG/MM/AAAA|AAAA-MM-GG)"
    ),
    few_words=r"in poche parole",
    brief=(
        r"brevemente|breve|brevi|in breve|concis[oa]|sintetic[oa]|sinteticamente|in modo conciso|"
        r"sii breve|velocemente|senza (?:troppi |tanti )?dettagli|pi[uù] cort[oa]|in due parole|stringat[oa]"
    ),
    detailed=(
        r"in dettaglio|nel dettaglio|dettagliat[oaie]|dettagliatamente|approfondit[oa]|in modo approfondito|per bene|"
        r"esaustiv[oa]|in modo esaustivo|in profondit[aà]|molto complet[oa]|completissim[oa]|"
        r"minimi dettagli|pi[uù] (?:lung[oa]|complet[oa]|dettagliat[oa])|approfondire|approfondisci|"
        r"sviluppa|il pi[uù] possibile|dimmi di pi[uù]|super complet[oa]|non tralasciare niente"
    ),
    modal=r"deve|devono|dovrebbe|dovrebbero|pu[oò]|possono|[eè]|sono",
    each=r"ogni|ciascun|ciascuno|ciascuna",
    possessive=r"mio|mia|miei|mie|nostro|nostra|ho gi[aà]|ho",
    forms={r"haiku": 20.0, r"limerick": 34.0, r"sonett[oi]": 130.0, r"tweet": 55.0, r"quartin[ae]": 40.0},
    explains_code=(
        r"(?:spieg|descriv|riassum|comment)\w*\b.{0,60}?\b(?:codice|funzione|script|query|regex|"
        r"programma)|cosa fa (?:questo|questa|il|la|il mio|la mia)\s+(?:codice|funzione|script|query|"
        r"programma)"
    ),
    own_task=r"devo|dobbiamo|ho da (?:scrivere|consegnare)",
    superlative=(
        r"(?:i|le|gli|dei|delle|degli) {n} (?:\w+ )?(?:migliori|peggiori|pi[uù]|principali|maggiori|"
        r"prim[ie])"
    ),
    answer_subject=(r"(?:le tue|la tua|le sue|la sua|la|le|il) (?:rispost[ae]|testo|riassunto)|rispost[ae]"),
    stopwords=word_set(
        "il lo la gli le un uno una dei degli delle del della dello al alla ai agli è sono era "
        "essere avere ha hanno io tu lui lei noi voi loro mi ti ci vi si che chi cosa quale quali "
        "quanto quanti dove quando come perché molto più ma o non niente tutto tutti con per tra "
        "fra senza secondo questo questa quello quella qui qua ora oggi domani posso puoi voglio ho "
        "fare ciao grazie sì anche già ancora parole scrivi dammi spiegami fammi cos'è cos parola breve dice"
    ),
    speeches=r"discorso|presentazione|brindisi|monologo|predica|pitch|intervento|messaggio (?:vocale|per la segreteria)",
    minutes=r"minut[oi]",
    seconds=r"second[oi]",
    code_only=(
        r"(?:solo|soltanto|solamente) (?:con )?(?:il|la|lo|i|le) (?:[\w-]+ )?(?:codice|query|script|comando|funzione|"
        r"regex|espressione regolare|formula|file|rig(?:a|he) di codice)|codice e basta|senza spiegazion[ei]|niente spiegazion[ei]|"
        r"senza commenti|non spiegare"
    ),
)

GERMAN = LanguageGrammar(
    code="de",
    reasons=r"erkl[äa]r\w*|begr[üu]nd\w*|warum|wieso",
    no_reasons=r"\b(?:ohne|nicht|keine?n?)\b",
    numbers={
        "ein": 1,
        "eine": 1,
        "einem": 1,
        "einen": 1,
        "einer": 1,
        "eins": 1,
        "zwei": 2,
        "drei": 3,
        "vier": 4,
        "fünf": 5,
        "fuenf": 5,
        "sechs": 6,
        "sieben": 7,
        "acht": 8,
        "neun": 9,
        "zehn": 10,
        "elf": 11,
        "zwölf": 12,
        "zwoelf": 12,
        "dreizehn": 13,
        "fünfzehn": 15,
        "zwanzig": 20,
        "dreißig": 30,
        "dreissig": 30,
        "vierzig": 40,
        "fünfzig": 50,
        "fuenfzig": 50,
        "sechzig": 60,
        "siebzig": 70,
        "achtzig": 80,
        "neunzig": 90,
        "und": 0,
        "halbe": 0.5,
        "halben": 0.5,
    },
    multipliers={"hundert": 100, "tausend": 1000},
    units={
        "word": r"w[öo]rter[n]?|woerter[n]?|worte[n]?|wort",
        "token": r"tokens?",
        "sentence": r"s[äa]tze[n]?|saetze[n]?|satz",
        "paragraph": r"abs[äa]tze[n]?|absatz|abschnitte[n]?|abschnitt|paragraphen",
        "page": r"seiten?|din[- ]a4[- ]seiten?",
        "line": r"zeilen?|verse[n]?",
        "stanza": r"strophen?",
        "character": r"zeichen|buchstaben",
    },
    items=(
        r"punkte[n]?|stichpunkte[n]?|ideen|tipps|beispiele[n]?|gr[üu]nde[n]?|vorschl[äa]ge[n]?|"
        r"schritte[n]?|fragen|namen|optionen|m[öo]glichkeiten|argumente[n]?|fakten|titel|"
        r"aufz[äa]hlungspunkte[n]?|vorteile[n]?|nachteile[n]?|strategien|slogans|thesen"
    ),
    list_verbs=(
        r"gib mir|geben sie mir|nenne|nenn|nennen sie|liste|listen sie|z[äa]hle|schlage|schlag|"
        r"empfiehl|finde|erstelle|schreib|schreibe|ich brauche|ich m[öo]chte"
    ),
    lead_in=r"in|von|auf|aus",
    at_most=(
        r"maximal|max\.?|h[öo]chstens|nicht mehr als|weniger als|unter|bis zu|nicht l[äa]nger als|"
        r"nicht [üu]ber|nur|nie mehr als|niemals mehr als|keinesfalls mehr als"
    ),
    at_least=r"mindestens|min\.?|wenigstens|nicht weniger als|mehr als|[üu]ber",
    about=r"etwa|ca\.?|circa|ungef[äa]hr|rund|um die|so um die|zirka|knapp",
    range_join=r"und|bis|-|–|oder",
    request=(
        r"schreib|schreibe|schreiben sie|verfasse|verfassen sie|erkl[äa]re|erkl[äa]r|erkl[äa]ren sie|"
        r"fasse|fass|gib|geben sie|nenne|nennen sie|liste|erstelle|erstellen sie|beschreibe|"
        r"beschreiben sie|formuliere|antworte|antworten sie|beantworte|[üu]bersetze|schlage|mach|"
        r"mache|bitte|brauche|brauchen|ben[öo]tige|m[öo]chte|h[äa]tte gern|kannst du|k[öo]nnen sie|"
        r"k[öo]nntest du|k[öo]nnten sie|erz[äa]hl|erz[äa]hle|sei|seien sie|halte|halt|k[üu]rze|k[üu]rz|"
        r"dichte|reime|entwirf|entwerfe|fasse zusammen|gliedere|liste auf|zeig|zeige|brauch|verl[äa]ngere|"
        r"erweitere"
    ),
    describes=(
        r"hat|hatte|haben|umfasst|enth[äa]lt|ist|sind|war|"
        r"(?:dieser|diese|dieses|diesen|der|die|das|den|dem|mein|meine|meinen|unser|unsere)\s+(?:text|"
        r"artikel|dokument|buch|bericht|aufsatz|roman|kapitel|brief|arbeit)(?: \w+)? (?:von|mit)"
    ),
    reported=(
        r"sagt|sagte|sagen|meint|verlangt|verlangen|fordert|laut|gem[äa][ßs]|vorschrift|richtlinien|"
        r"(?<!ich )(?<!wir )will|wollen"
    ),
    how_many=r"wie viele|wieviele|wie viel|wieviel|wie lange",
    rate=r"(?:pro|am|je|jeden) (?:tag|seite|minute|stunde|woche|monat)|t[äa]glich",
    one_word=r"(?:in|mit) (?:einem|nur einem|einem einzigen) wort|ein einziges wort|nur ein wort",
    yes_no=r"ja oder nein|ja/nein|\(ja/nein\)|[\"„“']?(?:richtig|wahr)[\"“”']? oder [\"„“']?falsch",
    short_answer=(
        r"(?:nur|ausschlie[ßs]lich|lediglich|einzig) (?:mit )?(?:die|den|das|der|dem|einer|einem|ein|eine) "
        r"(?:zahl|namen|name|ergebnis|antwort|code|buchstaben|datum|jahreszahl|jahr|wort|kategorie|label|etikett|"
        r"bezeichnung|note|bewertung|wert|emoji|nachnamen|vornamen|\w*nummer|\w*betrag|\w*datum|\w*namen)|"
        r"genau (?:ein|eine|einen) (?:label|wort|zahl|buchstaben|emoji|kategorie|etikett)|"
        r"(?:eines|eine|einen) der folgenden (?:labels|w[öo]rter|kategorien|optionen)|im format (?:TT\.MM\.JJJJ|JJJJ-MM-TT)|"
        r"ohne erkl[äa]rung(?:en)?"
    ),
    few_words=r"in (?:wenigen|ein paar) worten",
    brief=(
        r"kurz|knapp|kurz und b[üu]ndig|in k[üu]rze|pr[äa]gnant|kurzgefasst|kurzfassung|"
        r"fasse dich kurz|fass dich kurz|kurze antwort|ohne (?:viele |gro[ßs]e )?details|k[üu]rzer|"
        r"knappe antwort|kurze fassung|keine romane|nur das n[öo]tigste"
    ),
    detailed=(
        r"ausf[üu]hrlich|ausf[üu]hrliche[nrsm]?|detailliert|detaillierte[nrsm]?|im detail|umfassend|"
        r"umfassende[nrsm]?|gr[üu]ndlich|eingehend|in aller ausf[üu]hrlichkeit|ersch[öo]pfend|"
        r"l[äa]nger|ausf[üu]hrlicher|vertiefe|bis ins kleinste|bis ins letzte detail|in allen einzelheiten|"
        r"gr[üu]ndliche[nrsm]?|tiefgehende[nrsm]?|darf (?:ruhig )?lang"
    ),
    modal=r"darf|d[üu]rfen|muss|m[üu]ssen|soll|sollte|sollen|kann|ist|sind|hat|haben",
    each=r"jede[nmrs]?|pro",
    possessive=r"mein(?:e|en|em|er)?|unser(?:e|en|em|er)?|hab|habe",
    forms={
        r"haikus?": 20.0,
        r"limericks?": 34.0,
        r"sonett(?:e)?": 130.0,
        r"tweets?": 55.0,
        r"vierzeiler": 40.0,
        r"zweizeiler": 20.0,
        r"elfchen": 11.0,
    },
    explains_code=(
        r"(?:erkl[äa]r|beschreib|fass|kommentier)\w*\b.{0,60}?\b(?:code|funktion|skript|script|query|"
        r"regex|programm)|was (?:macht|tut) (?:dieser|diese|dieses|der|die|das|mein|meine)\s+(?:code|"
        r"funktion|skript|programm)"
    ),
    own_task=r"ich muss|wir müssen|ich soll|wir sollen",
    superlative=(
        r"(?:die|der|den) {n} (?:besten|wichtigsten|gr[öo][ßs]ten|sch[öo]nsten|h[äa]ufigsten|"
        r"beliebtesten|\w+sten)"
    ),
    answer_subject=r"(?:deine|ihre|die|der|dein) (?:antworten?|text|zusammenfassung)|antworten?",
    stopwords=word_set(
        "der die das den dem des ein eine einen einem einer ist sind war sein haben hat habe ich du "
        "er sie es wir ihr mich mir dich dir uns euch was wer wie wo wann warum welche welcher "
        "welches viel viele sehr mehr aber oder und nicht kein keine nichts alles mit für von zu "
        "bei nach aus über unter ohne zwischen dieser diese dieses hier jetzt heute morgen kann "
        "kannst möchte machen bitte danke hallo ja nein auch schon noch nur wörter schreib schreibe "
        "erkläre gib"
    ),
    speeches=r"rede|ansprache|vortrag|pr[äa]sentation|toast|trinkspruch|monolog|predigt|pitch|referat|sprachnachricht",
    minutes=r"minuten?",
    seconds=r"sekunden?",
    code_only=(
        r"(?:nur|ausschlie(?:ß|ss)lich|lediglich) (?:den|die|das) (?:[\w-]+ )?(?:code|query|abfrage|skript|script|"
        r"befehl|kommando|funktion|regex|formel|datei|codezeilen?)|ohne erkl[äa]rung(?:en)?|ohne kommentare?|"
        r"keine erkl[äa]rung(?:en)?|nicht erkl[äa]ren|kein text drumherum"
    ),
)

RUSSIAN = LanguageGrammar(
    code="ru",
    reasons=r"объясн\w*|обоснуй\w*|почему|поясни\w*",
    no_reasons=r"(?<!\w)(?:без|не|нет)(?!\w)",
    numbers={
        "один": 1,
        "одно": 1,
        "одна": 1,
        "одного": 1,
        "одной": 1,
        "одним": 1,
        "одном": 1,
        "одну": 1,
        "два": 2,
        "две": 2,
        "двух": 2,
        "двумя": 2,
        "три": 3,
        "двум": 2,
        "трём": 3,
        "трем": 3,
        "четырём": 4,
        "четырем": 4,
        "трёх": 3,
        "трех": 3,
        "тремя": 3,
        "четыре": 4,
        "четырёх": 4,
        "четырех": 4,
        "пять": 5,
        "пяти": 5,
        "шесть": 6,
        "шести": 6,
        "семь": 7,
        "семи": 7,
        "восемь": 8,
        "восьми": 8,
        "девять": 9,
        "девяти": 9,
        "десять": 10,
        "десяти": 10,
        "одиннадцать": 11,
        "двенадцать": 12,
        "двенадцати": 12,
        "тринадцать": 13,
        "четырнадцать": 14,
        "шестнадцать": 16,
        "шестнадцати": 16,
        "семнадцать": 17,
        "восемнадцать": 18,
        "девятнадцать": 19,
        "пятнадцать": 15,
        "пятнадцати": 15,
        "двадцать": 20,
        "двадцати": 20,
        "тридцать": 30,
        "тридцати": 30,
        "сорок": 40,
        "пятьдесят": 50,
        "пятидесяти": 50,
        "двести": 200,
        "двухсот": 200,
        "триста": 300,
        "трехсот": 300,
        "трёхсот": 300,
        "четыреста": 400,
        "пятьсот": 500,
        "пятисот": 500,
        "шестьсот": 600,
        "семьсот": 700,
        "восемьсот": 800,
        "девятьсот": 900,
        "пол": 0.5,
        "половину": 0.5,
    },
    multipliers={"сто": 100, "ста": 100, "тысяча": 1000, "тысячи": 1000, "тысяч": 1000, "тысячу": 1000},
    units={
        "word": r"слов(?:о|а|у|ом|е)?|словах|словами",
        "token": r"токен(?:ов|а|ы|ах)?|tokens?",
        "sentence": r"предложени(?:е|я|й|ях|ями|и|ем|ю)|фраз(?:а|ы|у|ах|ой|ами)?",
        "paragraph": r"абзац(?:а|ев|ах|ами|ем|е|у)?|параграф(?:а|ов|ах)?",
        "page": r"страниц(?:а|ы|у|ах|ами|е|ей)?|лист(?:а|ов|ах)?",
        "line": r"строк(?:а|и|у|ах|ами|ой|е)?|строчк(?:а|и|у|ах|ой)|строчек",
        "stanza": r"строф(?:а|ы|у|ах)?|четверостиши(?:е|я|й)",
        "character": r"символ(?:а|ов|ах)?|знак(?:а|ов|ах)?",
    },
    items=(
        r"пункт(?:а|ов)?|иде(?:я|и|й)|совет(?:а|ов)?|пример(?:а|ов)?|причин(?:а|ы)?|способ(?:а|ов)?|"
        r"вариант(?:а|ов)?|шаг(?:а|ов)?|тезис(?:а|ов)?|вопрос(?:а|ов)?|названи(?:е|я|й)|факт(?:а|ов)?|"
        r"аргумент(?:а|ов)?|преимуществ(?:о|а)?|недостат(?:ок|ка|ков)|стратеги(?:я|и|й)|слоган(?:а|ов)?"
    ),
    list_verbs=(
        r"дай|дайте|перечисли|перечислите|назови|назовите|приведи|приведите|предложи|предложите|"
        r"порекомендуй|посоветуй|придумай|придумайте|напиши|напишите|составь|составьте|нужно|нужны"
    ),
    lead_in=r"в|во|на|из|объ[её]мом|длиной|размером|до|к",
    at_most=(
        r"не более|не больше|максимум|до|меньше|менее|не длиннее|не превышая|не превышающ\w*|"
        r"в пределах"
    ),
    at_least=r"не менее|не меньше|минимум|как минимум|хотя бы|больше|более|от",
    about=r"около|примерно|порядка|приблизительно|где-то|где-нибудь|~",
    range_join=r"до|-|–|или",
    request=(
        r"напиши|напишите|составь|составьте|опиши|опишите|объясни|объясните|расскажи|"
        r"расскажите|перечисли|перечислите|дай|дайте|приведи|приведите|предложи|предложите|"
        r"сформулируй|сформулируйте|перескажи|резюмируй|ответь|ответьте|придумай|придумайте|подготовь|"
        r"подготовьте|сделай|сделайте|переведи|сократи|изложи|изложите|пожалуйста|плиз|нужно|нужен|"
        r"нужна|нужны|надо|хочу|хотел бы|хотела бы|можешь|можете|мог бы|могли бы|помоги|помогите|"
        r"уложись|уложитесь|пусть будет|сократите|ужми|перепиши|сочини|сочините|покажи|набросай|сведи|"
        r"сведите|удлини|расширь|дополни"
    ),
    describes=(
        r"содержит|состоит из|занимает|насчитывает|имеет|в (?:нём|нем|ней)|сейчас|уже|всего|"
        r"(?:этот|эта|это|этой|этом|мой|моя|мою|данный|данная)\s+(?:текст|статья|статью|документ|книга|"
        r"книгу|доклад|отч[её]т|роман|глава|главу|письмо)(?: \w+)? (?:на|из)"
    ),
    reported=(
        r"говорит|говорят|сказал|сказала|требует|требуют|требовал|по правилам|согласно|по словам|правила|"
        r"задали|задан\w*|хочет|хотят"
    ),
    how_many=r"сколько|как долго",
    rate=r"в (?:день|минуту|час|неделю|месяц)|на (?:странице|страницу)|ежедневно|за (?:день|час|минуту)",
    one_word=r"одним словом|в одно слово|одно слово",
    yes_no=r"да или нет|да/нет|\(да/нет\)|[\"«“']?верно[\"»”']? или [\"«“']?неверно|правда или ложь",
    short_answer=(
        r"только (?:число|цифр[уа]|название|имя|фамилию|год|результат|ответ|код|букв[уа]|дат[уа]|слово|метк[уа]|"
        r"категори[юя]|оценк[уа]|балл|эмодзи|инн|номер|значение)|"
        r"(?:одн[уоа]|один) из (?:этих|следующих) (?:меток|категорий|вариантов|слов)|в формате ДД\.ММ\.ГГГГ|"
        r"без объяснени[йя]"
    ),
    few_words=r"в нескольких словах|в паре слов|парой слов|в двух словах|в двух-тр[её]х словах",
    brief=(
        r"кратко|коротко|вкратце|лаконично|сжато|в двух-тр[её]х словах|без воды|"
        r"кратк(?:ий|ое|ая|ую) (?:ответ|описание|объяснение|пересказ)|покороче|короче|кратенько|"
        r"коротенько|без подробностей"
    ),
    detailed=(
        r"подробно|подробн(?:ый|ое|ая|ую|ее)|детально|детальн(?:ый|ое|ая|ую)|развернуто|развёрнуто|"
        r"развернут(?:ый|ое|ую)|развёрнут(?:ый|ое|ую)|обстоятельно|исчерпывающ\w+|в деталях|"
        r"максимально полно|во всех подробностях|подробнее|длиннее|расширь|разверни"
    ),
    modal=r"долж\w*|может|могут|можно|нужно ли|является|будет",
    each=r"кажд\w+",
    possessive=r"мо[йяеи]|мою|моего|моей|наш\w*|у меня|у нас",
    forms={
        r"хокку|хайку": 20.0,
        r"лимерики?": 34.0,
        r"сонет\w*": 130.0,
        r"тв[иі]т\w*": 55.0,
        r"четверостиши\w*": 40.0,
        r"двустиши\w*": 20.0,
    },
    explains_code=(
        r"(?:объясн|опиш|расскаж|прокомментиру)\w*.{0,60}?(?:код|функци\w*|скрипт|запрос|регулярк\w*|"
        r"программ\w*)|что делает (?:этот|эта|эту|мой|моя|данный|данная)\s+(?:код|функци\w*|скрипт|"
        r"запрос|программ\w*)"
    ),
    own_task=r"(?:мне|нам) (?:надо|нужно) (?:написать|сдать|подготовить)|я должен|я должна",
    superlative=r"{n} (?:лучших|главных|самых|основных|крупнейших|важнейших|популярных)",
    answer_subject=r"(?:тво[йи]|ваш[иа]?) (?:ответы?|текст)|ответы?",
    speeches=r"речь|речи|выступлени[ея]|доклад|презентаци[юяи]|тост|монолог|проповедь|питч",
    minutes=r"минут[ыу]?|минуты",
    seconds=r"секунд[ыу]?",
    code_only=(
        r"только (?:\w+ )?(?:код|кодом|запрос|запросом|скрипт|скриптом|команду|командой|функцию|функцией|"
        r"регулярку|регуляркой|регулярное выражение|формулу|формулой)|просто содержимое|"
        r"без объяснени[йя]|без пояснени[йя]|без комментариев|не объясняй|без лишних слов"
    ),
)

CHINESE = LanguageGrammar(
    code="zh",
    reasons=r"解释|解釋|说明理由|說明理由|理由|为什么|為什麼|原因",
    no_reasons=r"不要|不用|无需|無需|别|別|不必|不需要",
    numbers={
        "零": 0,
        "〇": 0,
        "一": 1,
        "两": 2,
        "兩": 2,
        "二": 2,
        "三": 3,
        "四": 4,
        "五": 5,
        "六": 6,
        "七": 7,
        "八": 8,
        "九": 9,
        "半": 0.5,
    },
    multipliers={"十": 10, "百": 100, "千": 1000, "万": 10000, "萬": 10000},
    units={
        "character": r"字|個字|个字|汉字|漢字",
        "word": r"个词|個詞|个单词|個單詞|词|詞|单词|單詞",
        "sentence": r"句话|句話|句",
        "paragraph": r"个段落|個段落|段落|段",
        "page": r"页|頁|张纸|張紙",
        "line": r"行",
    },
    items=(
        r"个(?!小时|月|星期|礼拜|钟头|人)|個(?!小時|月|星期|禮拜|鐘頭|人)|条|條|点|點|项|項|种|種|则|則|首|篇|款|招|步|"
        r"本|部|家|道"
    ),
    list_verbs=r"列出|列举|列舉|给我|給我|提供|推荐|推薦|写出|寫出|想出|举出|舉出|说出|說出|总结出|總結出|建议|建議|提出|给出|給出|列|出",
    lead_in=r"用|以|写|寫|在|为|為|成",
    at_most=r"不超过|不超過|最多|不要超过|不要超過|少于|少於|控制在|不多于|不多於|限",
    at_least=r"至少|不少于|不少於|最少|起码|起碼|不低于|不低於",
    about=r"大约|大約|约|約|大概|差不多",
    range_join=r"到|至|-|–|~|～|或",
    request=(
        r"帮我写|幫我寫|请写|請寫|写一|寫一|写个|寫個|写篇|寫篇|写段|寫段|写首|寫首|写封|寫封|写出|寫出|请|請|帮我|幫我|给我|給我|用|列出|列举|列舉|总结|總結|概括|解释|解釋|介绍|介紹|描述|"
        r"回答|翻译|翻譯|生成|提供|说明|說明|谈谈|談談|讲讲|講講|讲一下|講一下|需要|控制|说说|"
        r"說說|推荐|推薦|起草|撰写|撰寫|编写|編寫|创作|創作|改写|改寫|缩写|縮寫|说一下|說一下|告诉我|告訴我"
    ),
    describes=r"有|共|全文|长达|長達|总共|總共|这篇|這篇|原文|大约有|大約有|写了|寫了|已经|已經",
    reported=(
        r"老师说|老師說|老师要求|老師要求|规定|規定|据说|據說|他说|她说|他說|她說|按照要求|学校要求|學校要求|"
        r"您之前说|您說|要求是|查重"
    ),
    modal=r"必须|必須|应该|應該|只能|不能|可以|要求",
    how_many=r"多少|几页|幾頁|几行|幾行|几段|幾段|几个字节|幾個字節|几个字符|幾個字符|多长时间|多長時間|多久",
    rate=r"每天|每日|每页|每頁|每分钟|每分鐘|每小时|每小時|每行|每段|每次",
    one_word=r"一个词|一個詞|一个字(?![符母节節])|一個字(?![符母节節])|一词|一詞",
    yes_no=r"是或否|是或不是|是还是否|是還是否|是/否|是／否|对或错|對或錯|是否回答|回答是或|能或不能|会或不会|會或不會|可以或不可以|有或没有|有或沒有",
    short_answer=(
        r"(?:只|仅|僅|就)(?:需|要|用)?(?:回答|给出|給出|写|寫|输出|輸出|说|說|告诉我|告訴我|发|發)?(?:一个|一個)?(?:阿拉伯)?"
        r"[^\W\d_]{0,2}(?:数字|數字|答案|名字|名称|名稱|城市名|人名|国名|國名|结果|結果|选项|選項|字母|年份|日期|emoji|表情|标签|標籤|"
        r"类别|類別|分类|分類|姓氏|姓|分数|分數)|"
        r"(?:只|仅|僅)(?:需|要)?(?:输出|輸出|回答|回复|回覆|写|寫|说|說)[“「\"']|"
        r"直接(?:给我|給我|给出|給出|回答|说|說)?(?:数字|數字|答案|结果|結果)|本身|"
        r"(?:选|選)(?:择|擇)?一个(?:输出|輸出|回答)?|用一个(?:表情符号|表情|emoji|词|詞|数字|數字)(?:回复|回覆|回答)|"
        r"不要输出(?:任何)?其他内容|不要輸出(?:任何)?其他內容|"
        r"不要解释|不要解釋|不用解释|不用解釋|无需解释|無需解釋"
    ),
    few_words=r"几个字(?![节節符])|幾個字(?![节節符])|几个词|幾個詞|三言两语|三言兩語",
    brief=(
        r"简短|簡短|简要|簡要|简洁|簡潔|简单地?说|簡單地?說|简单介绍|簡單介紹|长话短说|長話短說|言简意赅|言簡意賅|"
        r"精简|精簡|简述|簡述|别展开|別展開|不用展开|不用展開|短一点|短一點|粗略|不用太细|不用太細|简明扼要|簡明扼要|别太长|別太長|不要太长|不要太長"
    ),
    detailed=(
        r"(?<![别別不无無])(?:详细|詳細|详尽|詳盡|深入|全面|具体详细|具體詳細|展开|展開)|越详细越好|越詳細越好|"
        r"事无巨细|事無巨細|面面俱到"
    ),
    each=r"每",
    possessive=r"我的|我们的|我們的|我写了|我寫了|我写的|我寫的",
    forms={r"绝句|絕句": 35.0, r"律诗|律詩": 70.0, r"俳句": 25.0, r"藏头诗|藏頭詩": 70.0},
    at_most_after=r"以内|以內|之内|之內|以下|内|內|为限|為限",
    at_least_after=r"以上|起",
    about_after=r"左右|上下|前后|前後",
    no_spaces=True,
    explains_code=r"(?:这个|这段|下面这段|下面的|以下|下面这个|這個|這段|下面這段|以下的)(?:代码|代碼|函数|函數|程序|脚本|腳本|正则|正則|SQL)",
    own_task=r"我要写|我要寫|我得写|我得寫|我需要写|我需要寫|我每次",
    superlative=r"(?:前|top|TOP){n}|{n}大(?!学|學|小|概)",
    answer_subject=r"回复|回答|答案|你的回答|所有回复",
    code_only=(
        r"只(?:要|给|需要|输出|返回|写|回复|贴)?(?:改好的|修改后的|最终的)?(?:代码|代碼|程式碼|脚本|命令|函数|正则|"
        r"sql|配置)|直接给(?:代码|命令)|不要解释|不要解釋|不用解释|不用解釋|无需解释|無需解釋|不需要解释|"
        r"别加任何说明|不用讲"
    ),
)

JAPANESE = LanguageGrammar(
    code="ja",
    reasons=r"理由|説明|なぜ|根拠",
    no_reasons=r"いらない|不要|なし|しないで|せずに|書かないで",
    numbers={
        "〇": 0,
        "一": 1,
        "二": 2,
        "三": 3,
        "四": 4,
        "五": 5,
        "六": 6,
        "七": 7,
        "八": 8,
        "九": 9,
        "ひと": 1,
        "ふた": 2,
        "みっ": 3,
        "よっ": 4,
        "いつ": 5,
        "むっ": 6,
        "なな": 7,
        "やっ": 8,
        "ここの": 9,
        "半": 0.5,
    },
    multipliers={"十": 10, "百": 100, "千": 1000, "万": 10000},
    units={
        "character": r"文字|字",
        "word": r"単語|語",
        "sentence": r"文(?!字|章|書|献|法|化|学)",
        "paragraph": r"段落|パラグラフ",
        "page": r"ページ|枚",
        "line": r"行",
    },
    items=r"つ|個|点|項目|案|選|通り|ステップ|箇条|か条|カ条|問",
    list_verbs=r"挙げて|あげて|教えて|出して|提案して|考えて|書いて|リストアップして|紹介して|まとめて|示して|作って|作成して",
    lead_in=r"(?!)",
    lead_after=r"\s*(?:程度|くらい|ぐらい|前後|ほど|以内|以下|以上|まで)?分?(?:で|に(?:して|まとめ|収め|おさめ|縮め|要約|減ら|膨らま|増や|広げ|伸ば))",
    at_most=r"最大|最高|多くても",
    at_least=r"最低|少なくとも|最低でも",
    about=r"約|およそ|大体|だいたい|ざっと",
    range_join=r"から|〜|～|-|–|~",
    request=(
        r"書いて|かいて|ください|下さい|お願い|教えて|説明して|まとめて|挙げて|あげて|答えて|作って|"
        r"考えて|提案して|要約して|作成して|生成して|翻訳して|紹介して|述べて|記述して|書け|答えよ|"
        r"述べよ|説明せよ|欲しい|ほしい|頼む|たのむ|してくれ|して下さい|してください|まとめよ|しなさい|"
        r"ちょうだい|頂戴|用意して|準備して|出して|くれ|もらえますか|もらえる|いただけますか|くれますか"
    ),
    describes=r"あり|あります|ある|全部で|全体で|の記事|の文章は|この文章|この記事|原文|今|現在|もう|すでに|既に|全|約",
    reported=r"先生が|先生は|と言われ|と言って|って言われ|って言って|規定|によると|によれば|ルールでは|決まり|上司が",
    how_many=r"何文字|何字|何ページ|何行|何段落|何語|何音|いくつ|何個|何点|どのくらい|どれくらい|何分|何時間|速い|遅い",
    rate=r"1日|一日|毎日|1ページあたり|あたり|ごとに|毎分|1分",
    one_word=r"一語で|単語一つで|一単語で",
    yes_no=(
        r"はい\s*か\s*いいえ|はい/いいえ|はい・いいえ|はいまたはいいえ|イエスかノー|YesかNo|「はい」か「いいえ」|"
        r"[○〇◯]か[×✕]|[○〇◯]×で"
    ),
    short_answer=(
        r"(?:数字|数値|答え|名前|都市名|人名|国名|結果|記号|単語|年|ラベル|カテゴリー?|名字|苗字|姓|絵文字|選択肢|点数|"
        r"スコア)(?:だけ|のみ)|"
        r"だけ(?:を)?(?:書いて|答えて|教えて|出力)|のみ(?:を)?(?:書いて|答えて|回答|出力)|"
        r"(?:どれか|いずれか)(?:一つ|1つ)(?:に|を)"
    ),
    few_words=r"数語で|数単語で|二言三言で|一言で|ひとことで",
    brief=r"簡潔に|簡単に|手短に|短く|短めに|かいつまんで|ざっくり|簡潔な|端的に|要点だけ",
    detailed=(
        r"詳しく|詳細に|くわしく|丁寧に|徹底的に|網羅的に|詳細な|詳しい|具体的かつ詳細に|できるだけ詳しく|"
        r"細かいことまで|細かいところまで|細かく|充実した|じっくり|体系的に"
    ),
    modal=r"べき|なければ|ねばならない|なきゃ|でなければ",
    each=r"それぞれ|各",
    possessive=r"私の|僕の|うちの|自分の",
    forms={r"俳句": 25.0, r"短歌": 40.0, r"川柳": 25.0},
    at_most_after=r"以内|以下|未満|まで|程度まで|を超えない|を越えない",
    at_least_after=r"以上",
    about_after=r"程度|くらい|ぐらい|前後|ほど|位",
    no_spaces=True,
    explains_code=r"(?:この|次の|以下の|下の)(?:コード|関数|プログラム|スクリプト|正規表現|SQL)",
    own_task=r"書かなきゃ|書かないと|書く必要|提出しなければ",
    superlative=r"(?:トップ|ベスト|上位){n}",
    answer_subject=r"回答|返答|答え|返信",
    code_only=(
        r"(?:コード|コマンド|数式|yaml|sql|スクリプト|関数)(?:のみ|だけ)|説明(?:は)?(?:不要|いりません|なし|しないで)|"
        r"コメントなし"
    ),
)

GRAMMARS: dict[str, LanguageGrammar] = {
    g.code: g for g in (SPANISH, PORTUGUESE, FRENCH, ITALIAN, GERMAN, RUSSIAN, CHINESE, JAPANESE)
}
"""The languages read besides English, by ISO 639-1 code."""

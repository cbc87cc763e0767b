"""Per-country pools for synthetic employers: places, streets, people and legal forms.

Patterns use `#` for a random digit and `@` for a random capital letter, so that postcodes
and phone numbers keep each country's shape ("4050-262", "1012 AB", "+30 2310 123456").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """A city with the shape of its postcodes and of its landline numbers."""

    name: str
    postcode: str
    phone: str


@dataclass(frozen=True)
class Country:
    """What it takes to make an employer and its people look at home in one country."""

    code: str
    language: str
    domain: str
    cities: tuple[City, ...]
    streets: tuple[str, ...]
    women: tuple[str, ...]
    men: tuple[str, ...]
    surnames: tuple[str, ...]
    legal_forms: tuple[str, ...]
    registration: str
    street_line: str = "{street} {number}"
    postal_line: str = "{postcode} {city}"
    legal_name: str = "{core} {form}"


def _cities(*rows: tuple[str, str, str]) -> tuple[City, ...]:
    return tuple(City(name, postcode, phone) for name, postcode, phone in rows)


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(",") if word.strip())


COUNTRIES: dict[str, Country] = {
    "DE": Country(
        code="DE",
        language="de",
        domain="de",
        cities=_cities(
            ("Köln", "506##", "+49 221 #######"),
            ("München", "803##", "+49 89 ########"),
            ("Hamburg", "200##", "+49 40 ########"),
            ("Stuttgart", "701##", "+49 711 #######"),
            ("Leipzig", "041##", "+49 341 #######"),
            ("Dortmund", "441##", "+49 231 #######"),
            ("Nürnberg", "904##", "+49 911 #######"),
            ("Bremen", "281##", "+49 421 #######"),
            ("Hannover", "301##", "+49 511 #######"),
        ),
        streets=_words(
            "Industriestraße, Hauptstraße, Bahnhofstraße, Gewerbestraße, Schillerstraße,"
            "Goethestraße, Am Hafen, Lindenallee, Werkstraße, Max-Planck-Straße"
        ),
        women=_words("Anna, Julia, Katharina, Laura, Sabine, Petra, Claudia, Lena, Sophie, Jana"),
        men=_words("Thomas, Michael, Stefan, Andreas, Jan, Tobias, Markus, Lukas, Jürgen, Klaus"),
        surnames=_words(
            "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Hoffmann,"
            "Schäfer, Koch, Bauer, Richter, Klein, Wolf, Neumann, Krüger, Hartmann"
        ),
        legal_forms=_words("GmbH, GmbH, GmbH, GmbH & Co. KG, AG, e.K."),
        registration="DE#########",
    ),
    "AT": Country(
        code="AT",
        language="de",
        domain="at",
        cities=_cities(
            ("Wien", "10#0", "+43 1 #######"),
            ("Graz", "80#0", "+43 316 ######"),
            ("Linz", "40#0", "+43 732 ######"),
            ("Salzburg", "50#0", "+43 662 ######"),
            ("Innsbruck", "60#0", "+43 512 ######"),
            ("Klagenfurt", "90#0", "+43 463 ######"),
        ),
        streets=_words(
            "Mariahilfer Straße, Herrengasse, Industriezeile, Wiener Straße, Linzer Straße,"
            "Bahnhofgasse, Landstraßer Hauptstraße, Gewerbepark, Kirchengasse"
        ),
        women=_words("Anna, Lisa, Sarah, Julia, Elisabeth, Verena, Katrin, Theresa, Magdalena"),
        men=_words("Lukas, Florian, Maximilian, Stefan, Christoph, Martin, Johann, Manuel, Georg"),
        surnames=_words(
            "Gruber, Huber, Bauer, Wagner, Pichler, Steiner, Moser, Mayer, Hofer, Leitner,"
            "Berger, Fuchs, Eder, Fischer, Schwarz, Wimmer"
        ),
        legal_forms=_words("GmbH, GmbH, KG, OG, e.U."),
        registration="ATU########",
    ),
    "PT": Country(
        code="PT",
        language="pt",
        domain="pt",
        cities=_cities(
            ("Porto", "4050-###", "+351 22 ### ####"),
            ("Lisboa", "1100-###", "+351 21 ### ####"),
            ("Braga", "4700-###", "+351 253 ### ###"),
            ("Coimbra", "3000-###", "+351 239 ### ###"),
            ("Aveiro", "3810-###", "+351 234 ### ###"),
            ("Faro", "8000-###", "+351 289 ### ###"),
            ("Guimarães", "4800-###", "+351 253 ### ###"),
            ("Leiria", "2400-###", "+351 244 ### ###"),
        ),
        streets=_words(
            "Rua das Flores, Avenida da Liberdade, Rua de Santa Catarina, Rua do Comércio,"
            "Avenida da República, Rua Direita, Rua 25 de Abril, Travessa do Carmo, Zona Industrial"
        ),
        women=_words("Ana, Maria, Inês, Beatriz, Catarina, Joana, Sofia, Marta, Rita, Carla"),
        men=_words("João, Pedro, Rui, Tiago, Miguel, Nuno, Ricardo, Paulo, Luís, André"),
        surnames=_words(
            "Silva, Santos, Ferreira, Pereira, Oliveira, Costa, Rodrigues, Martins, Sousa,"
            "Fernandes, Gonçalves, Lopes, Marques, Almeida, Ribeiro, Carvalho"
        ),
        legal_forms=_words("Lda., Lda., Lda., S.A., Unipessoal Lda."),
        registration="PT5########",
        legal_name="{core}, {form}",
    ),
    "GR": Country(
        code="GR",
        language="el",
        domain="gr",
        cities=_cities(
            ("Thessaloniki", "546 ##", "+30 2310 ######"),
            ("Athina", "105 ##", "+30 210 #######"),
            ("Patra", "262 ##", "+30 2610 ######"),
            ("Irakleio", "712 ##", "+30 2810 ######"),
            ("Larisa", "412 ##", "+30 2410 ######"),
            ("Volos", "382 ##", "+30 24210 #####"),
            ("Ioannina", "453 ##", "+30 26510 #####"),
        ),
        streets=_words(
            "Egnatias, Tsimiski, Ermou, Panepistimiou, Vasilissis Olgas, Agiou Dimitriou,"
            "Leoforos Kifisias, Mitropoleos, Eleftheriou Venizelou, 28is Oktovriou"
        ),
        women=_words("Maria, Eleni, Aikaterini, Vasiliki, Sofia, Georgia, Dimitra, Anastasia"),
        men=_words(
            "Georgios, Ioannis, Konstantinos, Dimitrios, Nikolaos, Panagiotis, Christos, Vasileios"
        ),
        surnames=_words(
            "Papadopoulos, Papadakis, Georgiou, Oikonomou, Nikolaidis, Karagiannis, Vlachos,"
            "Konstantinidis, Dimitriou, Pappas, Makris, Alexiou, Antoniou, Triantafyllou"
        ),
        legal_forms=_words("A.E., I.K.E., I.K.E., E.P.E., O.E."),
        registration="EL0########",
    ),
    "NL": Country(
        code="NL",
        language="nl",
        domain="nl",
        cities=_cities(
            ("Amsterdam", "10## @@", "+31 20 ### ####"),
            ("Rotterdam", "30## @@", "+31 10 ### ####"),
            ("Utrecht", "35## @@", "+31 30 ### ####"),
            ("Eindhoven", "56## @@", "+31 40 ### ####"),
            ("Groningen", "97## @@", "+31 50 ### ####"),
            ("Den Haag", "25## @@", "+31 70 ### ####"),
            ("Tilburg", "50## @@", "+31 13 ### ####"),
        ),
        streets=_words(
            "Kerkstraat, Dorpsstraat, Industrieweg, Stationsweg, Havenstraat, Molenweg,"
            "Nieuwe Binnenweg, Marktplein, Ambachtsweg"
        ),
        women=_words("Emma, Sanne, Lotte, Anouk, Fleur, Sophie, Eva, Linda, Marloes"),
        men=_words("Daan, Bram, Sem, Jeroen, Thijs, Ruben, Pieter, Mark, Joost"),
        surnames=_words(
            "de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Visser, Smit, Meijer,"
            "de Boer, Mulder, Bos, Vos, Peters, Hendriks, Dekker"
        ),
        legal_forms=_words("B.V., B.V., B.V., N.V., V.O.F."),
        registration="NL#########B01",
    ),
    "FR": Country(
        code="FR",
        language="fr",
        domain="fr",
        cities=_cities(
            ("Paris", "7501#", "+33 1 ## ## ## ##"),
            ("Lyon", "6900#", "+33 4 ## ## ## ##"),
            ("Marseille", "130##", "+33 4 ## ## ## ##"),
            ("Toulouse", "310##", "+33 5 ## ## ## ##"),
            ("Nantes", "440##", "+33 2 ## ## ## ##"),
            ("Lille", "590##", "+33 3 ## ## ## ##"),
            ("Bordeaux", "330##", "+33 5 ## ## ## ##"),
            ("Strasbourg", "670##", "+33 3 ## ## ## ##"),
        ),
        streets=_words(
            "rue de la République, avenue Jean Jaurès, rue Victor Hugo, boulevard Gambetta,"
            "rue du Commerce, rue de la Gare, avenue de la Libération, rue des Artisans"
        ),
        women=_words("Camille, Manon, Léa, Chloé, Julie, Sophie, Nathalie, Isabelle, Émilie"),
        men=_words("Thomas, Nicolas, Julien, Pierre, Antoine, Mathieu, Laurent, Olivier, Hugo"),
        surnames=_words(
            "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau,"
            "Simon, Laurent, Lefèvre, Michel, Roux, Fournier, Girard, Mercier"
        ),
        legal_forms=_words("SARL, SARL, SAS, SAS, SA, EURL"),
        registration="FR## #########",
        street_line="{number} {street}",
    ),
    "ES": Country(
        code="ES",
        language="es",
        domain="es",
        cities=_cities(
            ("Madrid", "280##", "+34 91# ### ###"),
            ("Barcelona", "080##", "+34 93# ### ###"),
            ("Valencia", "460##", "+34 96# ### ###"),
            ("Sevilla", "410##", "+34 954 ### ###"),
            ("Bilbao", "480##", "+34 94# ### ###"),
            ("Zaragoza", "500##", "+34 976 ### ###"),
            ("Málaga", "290##", "+34 952 ### ###"),
        ),
        streets=_words(
            "Calle Mayor, Calle de Alcalá, Avenida de la Constitución, Calle Real,"
            "Calle del Carmen, Paseo de Gracia, Avenida de Andalucía, Calle San Vicente"
        ),
        women=_words("María, Lucía, Carmen, Laura, Marta, Elena, Paula, Cristina, Nuria"),
        men=_words("Javier, Carlos, David, Daniel, Pablo, Alejandro, Sergio, Jorge, Manuel"),
        surnames=_words(
            "García, Martínez, López, Sánchez, González, Rodríguez, Fernández, Pérez, Gómez,"
            "Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Navarro"
        ),
        legal_forms=_words("S.L., S.L., S.L., S.A., S.L.U."),
        registration="ESB########",
        street_line="{street}, {number}",
        legal_name="{core}, {form}",
    ),
    "IT": Country(
        code="IT",
        language="it",
        domain="it",
        cities=_cities(
            ("Milano", "201##", "+39 02 #### ####"),
            ("Torino", "101##", "+39 011 ### ####"),
            ("Bologna", "401##", "+39 051 ### ####"),
            ("Roma", "001##", "+39 06 #### ####"),
            ("Napoli", "801##", "+39 081 ### ####"),
            ("Firenze", "501##", "+39 055 ### ####"),
            ("Brescia", "251##", "+39 030 ### ####"),
            ("Verona", "371##", "+39 045 ### ####"),
        ),
        streets=_words(
            "Via Roma, Via Garibaldi, Corso Vittorio Emanuele II, Via Mazzini,"
            "Via dell'Industria, Viale Europa, Via Dante, Via dell'Artigianato"
        ),
        women=_words("Giulia, Francesca, Chiara, Sara, Valentina, Federica, Elena, Alessandra"),
        men=_words("Marco, Luca, Andrea, Alessandro, Matteo, Giuseppe, Francesco, Davide"),
        surnames=_words(
            "Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco,"
            "Bruno, Gallo, Conti, De Luca, Lombardi, Moretti"
        ),
        legal_forms=_words("S.r.l., S.r.l., S.r.l., S.p.A., S.n.c., S.a.s."),
        registration="IT###########",
    ),
    "IE": Country(
        code="IE",
        language="en",
        domain="ie",
        cities=_cities(
            ("Dublin", "D0# @#@#", "+353 1 ### ####"),
            ("Cork", "T12 @#@#", "+353 21 ### ####"),
            ("Galway", "H91 @#@#", "+353 91 ### ###"),
            ("Limerick", "V94 @#@#", "+353 61 ### ###"),
            ("Waterford", "X91 @#@#", "+353 51 ### ###"),
        ),
        streets=_words(
            "Main Street, Church Street, Patrick Street, Harbour Road, Dublin Road, Mill Lane,"
            "Bridge Street, O'Connell Street, Parnell Square"
        ),
        women=_words("Aoife, Siobhán, Niamh, Ciara, Sarah, Emma, Gráinne, Orla, Róisín"),
        men=_words("Seán, Conor, Patrick, Ciarán, Darragh, Eoin, Liam, Niall, Declan"),
        surnames=_words(
            "Murphy, Kelly, O'Sullivan, Walsh, O'Brien, Byrne, Ryan, O'Connor, O'Neill, Doyle,"
            "McCarthy, Gallagher, Kennedy, Lynch, Brennan, Quinn"
        ),
        legal_forms=_words("Ltd, Ltd, Ltd, DAC, plc"),
        registration="IE#######@",
        street_line="{number} {street}",
        postal_line="{city} {postcode}",
    ),
    "PL": Country(
        code="PL",
        language="pl",
        domain="pl",
        cities=_cities(
            ("Kraków", "31-###", "+48 12 ### ## ##"),
            ("Warszawa", "00-###", "+48 22 ### ## ##"),
            ("Wrocław", "50-###", "+48 71 ### ## ##"),
            ("Poznań", "60-###", "+48 61 ### ## ##"),
            ("Gdańsk", "80-###", "+48 58 ### ## ##"),
            ("Łódź", "90-###", "+48 42 ### ## ##"),
            ("Katowice", "40-###", "+48 32 ### ## ##"),
        ),
        streets=_words(
            "ul. Długa, ul. Floriańska, ul. Piotrkowska, ul. Marszałkowska, ul. Przemysłowa,"
            "ul. Kościuszki, ul. Mickiewicza, al. Jana Pawła II, ul. Słowackiego"
        ),
        women=_words("Anna, Katarzyna, Magdalena, Agnieszka, Joanna, Małgorzata, Ewa, Monika"),
        men=_words("Piotr, Krzysztof, Tomasz, Paweł, Michał, Marcin, Jakub, Łukasz, Andrzej"),
        surnames=_words(
            "Kowalski, Nowak, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, Zieliński,"
            "Szymański, Woźniak, Dąbrowski, Mazur, Krawczyk, Kaczmarek"
        ),
        legal_forms=_words("sp. z o.o., sp. z o.o., sp. z o.o., S.A., sp.j."),
        registration="PL##########",
    ),
}


def feminine_surname(country: str, surname: str) -> str:
    """The form of a surname a woman carries where the language inflects it (GR, PL)."""
    if country == "PL" and surname.endswith(("ski", "cki", "dzki")):
        return surname[:-1] + "a"
    if country == "GR":
        if surname.endswith("ou"):
            return surname
        if surname.endswith("os"):
            return surname[:-2] + "ou"
        if surname.endswith(("is", "as")):
            return surname[:-1]
    return surname

"""Name tables for synthetic persons: given names, surnames and nicknames per origin.

Made-up combinations of common names; no table row describes a real person. An "_" in a
table stands for a space inside one name ("de_la_Cruz", "van_der_Berg").
"""

from collections.abc import Mapping


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.replace("_", " ") for name in text.split()))


SPANISH_FEMALE = _names(
    "María Ana Carmen Rosa Luz Isabel Sofía Valentina Camila Daniela Gabriela Andrea Paola "
    "Natalia Carolina Alejandra Fernanda Juliana Mariana Adriana Patricia Claudia Mónica "
    "Verónica Lucía Elena Teresa Beatriz Laura Sandra Diana Marcela Catalina Lorena Paula "
    "Ángela Gloria Esperanza Milagros Dolores Concepción Rosario Guadalupe Graciela Mercedes "
    "Josefa Yolanda Liliana Jimena Ximena Silvia Marisol Maribel Yesenia Johana Viviana "
    "Estefanía Cristina Susana Irene Inés Margarita Victoria Antonia Francisca Lourdes Pilar "
    "Amparo Consuelo Soledad Nohemí Noemí Elizabeth Ruth Raquel Tatiana Karina Karen Jessica "
    "Melissa Vanessa Alba Aurora Fabiola Norma Blanca Marta Sara Alicia Miriam Rocío Nathalia"
)
SPANISH_MALE = _names(
    "José Juan Luis Carlos Jorge Miguel Pedro Andrés Sebastián Santiago Mateo Nicolás "
    "Alejandro Daniel David Diego Felipe Fernando Francisco Javier Jesús Manuel Antonio "
    "Rafael Ricardo Roberto Alberto Eduardo Enrique Guillermo Ignacio Gustavo Hernán Héctor "
    "Hugo Iván Jaime Julio Leonardo Marco Mario Martín Óscar Pablo Ramón Raúl Rodrigo Rubén "
    "Sergio Tomás Víctor Wilson Álvaro Arturo Camilo César Cristian Édgar Emilio Ernesto "
    "Esteban Fabián Gabriel Germán Gonzalo Gregorio Humberto Jairo Joaquín Julián Lorenzo "
    "Marcos Mauricio Nelson Orlando Osvaldo Rolando Samuel Simón Ulises Valentín Vicente "
    "Alonso Bernardo Elías Ezequiel Ignacio Leandro Reinaldo Rigoberto"
)
# Given names frequent in Colombia, Venezuela and Cuba; spellings vary (y/i, Jh/J).
CARIBBEAN_FEMALE = _names(
    "Yuliana Leidy Yurany Yessica Yusmary Yaneisy Yusleidy Yordanka Yanelis Yamilé Dayana "
    "Deisy Nayeli Yaritza Yenifer Maikelys Yarelis Yuleisy Odalys Mileidy Lisbeth Yohana "
    "Keila Anyeli Daniuska Yaquelin Marbelis Yoselin Arianny Dailyn"
)
CARIBBEAN_MALE = _names(
    "Yeison Jhon Brayan Yorman Wilmer Deivis Yoandri Yunior Osmany Yasmany Yordan Jhonatan "
    "Maikel Yosvani Yandri Eliécer Robinson Jhonny Yerlin Alexis Dairon Jeison Frankelis "
    "Yunieski Yoel Darwin Eduar Wílmer Yeferson Anderson"
)
SPANISH_SURNAMES = _names(
    "García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores "
    "Rivera Gómez Díaz Cruz Morales Reyes Gutiérrez Ortiz Ramos Romero Chávez Mendoza Ruiz "
    "Álvarez Castillo Jiménez Moreno Vargas Herrera Medina Aguilar Castro Guzmán Fernández "
    "Muñoz Rojas Suárez Vásquez Delgado Peña Navarro Salazar Acosta Cabrera Ríos Molina "
    "Domínguez Núñez Ibáñez Campos Vega Cortés Sandoval Guerrero Fuentes Carrillo Contreras "
    "Figueroa Espinoza Quintero Cárdenas Ospina Restrepo Londoño Zapata Arango Cardona "
    "Marín Giraldo Osorio Valencia Betancur Henao Quiñones Palacios Mosquera Bermúdez "
    "Quispe Mamani Huamán Condori Chambi Ccori Paredes Valdivia Villanueva Zambrano "
    "Carrasco Benítez Sosa Cáceres Márquez Escobar Montoya Bustamante Pacheco Velásquez "
    "Avendaño Barrios Bolívar Colmenares Urdaneta Briceño Pimentel Lugo Parra Rangel Aponte "
    "Lozano Maldonado Hurtado Garzón Orozco Toro Vallejo Caicedo Mejía Duque Beltrán "
    "Echeverría Yepes Zuluaga Villalobos Llanos Leyva Pupo Batista Céspedes Estrada Lorenzo "
    "Llorente Calzada Bravo Blanco Calderón Avila Iglesias Serrano Prieto Rivas Vidal Soto "
    "de_la_Cruz de_la_Peña del_Río de_los_Santos de_León del_Valle de_la_Rosa de_Jesús "
    "de_Armas de_la_Torre del_Castillo de_la_Hoz de_Ávila del_Pino de_la_Fuente"
)
PORTUGUESE_FEMALE = _names(
    "Maria Ana Francisca Antônia Adriana Juliana Márcia Fernanda Patrícia Aline Sandra "
    "Camila Amanda Bruna Jéssica Letícia Júlia Luciana Vanessa Mariana Gabriela Vitória "
    "Larissa Beatriz Rafaela Daniela Thaís Tatiane Renata Simone Cláudia Raimunda Rita "
    "Josefa Conceição Luana Débora Priscila Carolina Natália Isabela Lívia Sabrina Yasmin "
    "Kelly Michele Roberta Viviane Rosângela Lúcia Helena Clara Lorena Tainá Emanuelle "
    "Raquel Sônia Jaqueline Cristiane"
)
PORTUGUESE_MALE = _names(
    "José João Antônio Francisco Carlos Paulo Pedro Lucas Luiz Marcos Luís Gabriel Rafael "
    "Daniel Marcelo Bruno Eduardo Felipe Raimundo Rodrigo Manoel Mateus André Fernando "
    "Fábio Leonardo Gustavo Guilherme Leandro Tiago Thiago Anderson Ricardo Márcio Jorge "
    "Sebastião Alexandre Roberto Edson Diego Vitor Sérgio Cláudio Matheus Vinícius Renato "
    "Caio Henrique Otávio Júlio Wellington Washington Cícero Davi Samuel Heitor Benedito "
    "Severino Gonçalo Reinaldo"
)
PORTUGUESE_SURNAMES = _names(
    "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro "
    "Martins Carvalho Almeida Lopes Soares Fernandes Vieira Barbosa Rocha Dias Nascimento "
    "Andrade Moreira Nunes Marques Machado Mendes Freitas Cardoso Ramos Gonçalves Santana "
    "Teixeira Araújo Pinto Correia Cavalcanti Monteiro Moura Batista Campos Farias Melo "
    "Barros Guimarães Magalhães Simões Pires Brandão Queiroz Siqueira Azevedo Macedo "
    "Bezerra Figueiredo Medeiros Coelho Tavares Peixoto Xavier Bittencourt Albuquerque "
    "dos_Santos da_Silva de_Souza das_Neves do_Nascimento da_Costa de_Oliveira dos_Reis "
    "da_Conceição de_Jesus do_Carmo da_Cruz de_Lima dos_Anjos da_Rocha do_Amaral"
)
DUTCH_FEMALE = _names(
    "Anna Maria Johanna Cornelia Wilhelmina Elisabeth Catharina Geertruida Margaretha "
    "Hendrika Adriana Jacoba Petronella Sanne Fleur Lotte Emma Sophie Julia Lisa Anouk "
    "Eva Femke Iris Marieke Linda Monique Sandra Ingrid Esther Mirjam Ellen Petra Karin "
    "Annemiek Marloes Femke Noor Lieke Merel Roos Tessa Anne Inge Judith Manon Kim Nienke "
    "Yvonne Wendy Chantal Sharon Priscilla Samira Naomi Daphne Jolanda Astrid Wilma Ria "
    "Trijntje Aaltje Hilde Joke Marijke Saskia Bianca Romy Isa Fenna Jet"
)
DUTCH_MALE = _names(
    "Johannes Cornelis Hendrik Jacobus Wilhelmus Petrus Gerardus Adrianus Antonius "
    "Theodorus Franciscus Jan Pieter Willem Gerrit Dirk Klaas Bram Daan Sem Lucas Jesse "
    "Thijs Ruben Stijn Bas Joost Maarten Sander Martijn Jeroen Bart Niels Wouter Rutger "
    "Roel Mark Dennis Kevin Patrick Erik Marco Rob Remco Arjen Hans Sjoerd Tjeerd Freek "
    "Gijs Teun Luuk Mees Job Floris Koen Ties Siem Hugo Casper Reinier Rik Marcel Ronald "
    "Frank Harm Evert Wessel Douwe"
)
DUTCH_SURNAMES = _names(
    "Jansen Bakker Visser Smit Meijer Mulder Bos Vos Peters Hendriks Dekker Brouwer Dijkstra "
    "Smits Verhoeven Kok Jacobs Vermeulen Willems Schouten Hoekstra Koster Prins Huisman "
    "Kuipers Postma Wouters Kramer Blom Maas Verbeek Kuijpers Timmermans Veenstra Groen "
    "Schipper Hermans Boer Post Janssen Molenaar Koning Boersma Wijnands Sanders Evers "
    "Hoogendoorn Verweij Goossens Claassen Scholten Vink Hofman Bosman Verhagen Gerritsen "
    "Koopman Kuiper Lammers Martens Rutten Stam Veldhuis Wolters Zijlstra Bruinsma Haan "
    "Kroon Pauwels Roos Teunissen Vermeer Westra Zwart Ketelaar Heijnen Claes "
    "de_Jong de_Vries de_Boer de_Groot de_Bruijn de_Wit de_Graaf de_Haan de_Lange de_Ruiter "
    "de_Kok de_Vos de_Leeuw de_Wilde de_Bruin de_Koning de_Meijer de_Rooij "
    "van_der_Berg van_den_Berg van_Dijk van_der_Meer van_Leeuwen van_der_Linden van_Vliet "
    "van_der_Heijden van_Beek van_der_Veen van_Wijk van_Dam van_den_Bosch van_der_Wal "
    "van_Rijn van_Loon van_der_Velden van_Doorn van_Es van_der_Laan van_de_Ven van_Gils "
    "van_den_Heuvel van_Vliet van_der_Sluis van_Zanten "
    "ter_Horst ten_Brink in_'t_Veld op_de_Beek van_'t_Hof"
)
BELGIAN_FEMALE = _names(
    "Marie Anne Sofie Julie Charlotte Louise Emma Elise Lotte Hanne Lien Sarah Laura Nathalie "
    "Els Katrien Griet An Veerle Inge Kristel Leen Nele Evelien Ine Liesbeth Hilde Godelieve "
    "Mieke Martine Chantal Isabelle Véronique Catherine Françoise Christine Hélène Sylvie "
    "Valérie Céline Aurélie Camille Manon Chloé Léa Amélie Mathilde Pauline Delphine Sandrine "
    "Stéphanie Brigitte Monique Josée Noémie Lore Febe Jana Fien"
)
BELGIAN_MALE = _names(
    "Jan Peter Luc Marc Dirk Bart Tom Koen Wim Geert Kris Filip Johan Stefaan Pieter Jozef "
    "Ludovicus Franciscus Petrus Wout Jens Arne Lander Seppe Thibault Victor Louis Lucas "
    "Jean Pierre Michel Philippe Alain Patrick Didier Olivier Frédéric Stéphane Laurent "
    "Thierry Benoît Christophe Nicolas Sébastien Julien Mathieu Antoine Guillaume François "
    "Gérard René André Jacques Maxime Quentin Arnaud Cédric Yves Raf"
)
BELGIAN_SURNAMES = _names(
    "Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters Dubois Lambert "
    "Dupont Martin Simon Laurent Leclercq Hermans Aerts Michiels Pauwels Vermeulen Desmet "
    "Renard Lemaire Dumont Leroy Mathieu Fontaine Stevens Wuyts Smets Verstraete Segers "
    "Baert Hendrickx Coppens Lambrechts Verlinden Thys Bogaerts Cools Moens Vandamme "
    "Verhaegen Martens Geerts Vervoort Claessens Dewulf Lenaerts Van_Damme Van_den_Broeck "
    "Van_de_Velde Van_Acker Van_Hoof Van_Looy Van_der_Elst Van_Dyck Van_Hecke De_Smet "
    "De_Backer De_Clercq De_Vos De_Wilde De_Meyer De_Cock De_Coster De_Groote De_Keyser "
    "Vandenberghe Vanderstraeten Vandenbroucke Verbruggen Cornelis Jansen Denis Lejeune "
    "Charlier Gilson Collignon Delvaux Piron Francois Hubert Noël Marchal Henrard Servais "
    "Bastin Thiry Evrard Adam Dupuis Colson Gérard Renson Pirard Lallemand Jacquet"
)

# Formal given name -> the short names people give, or are recorded under, instead.
NICKNAMES: Mapping[str, tuple[str, ...]] = {
    "José": ("Pepe", "Chepe", "Zé"),
    "Francisco": ("Paco", "Pancho", "Chico"),
    "Jesús": ("Chucho", "Chuy"),
    "Guillermo": ("Memo", "Guille"),
    "Alejandro": ("Alejo", "Álex"),
    "Ignacio": ("Nacho",),
    "Manuel": ("Manolo", "Manu"),
    "Antonio": ("Toño", "Tony"),
    "Enrique": ("Kike",),
    "Roberto": ("Beto",),
    "Alberto": ("Beto",),
    "Eduardo": ("Lalo", "Edu", "Dudu"),
    "Luis": ("Lucho",),
    "Rafael": ("Rafa",),
    "Fernando": ("Nando", "Fer"),
    "Santiago": ("Santi",),
    "Sebastián": ("Sebas",),
    "Gustavo": ("Tavo",),
    "Dolores": ("Lola",),
    "Concepción": ("Conchita", "Concha"),
    "Rosario": ("Charo",),
    "Graciela": ("Chela",),
    "Guadalupe": ("Lupe",),
    "Isabel": ("Chabela", "Isa"),
    "Mercedes": ("Meche",),
    "Josefa": ("Pepa",),
    "Margarita": ("Magui",),
    "Alejandra": ("Ale",),
    "Valentina": ("Vale",),
    "Antônio": ("Tonho", "Toninho"),
    "João": ("Joãozinho",),
    "Raimundo": ("Mundinho",),
    "Sebastião": ("Tião",),
    "Conceição": ("Ceição",),
    "Raimunda": ("Mundinha",),
    "Johannes": ("Hans", "Jan", "Johan"),
    "Cornelis": ("Kees", "Cor"),
    "Jacobus": ("Koos", "Jaap"),
    "Hendrik": ("Henk", "Rik"),
    "Wilhelmus": ("Wim", "Willem"),
    "Petrus": ("Piet", "Peter"),
    "Gerardus": ("Gerard", "Gert"),
    "Adrianus": ("Adrie", "Ad"),
    "Antonius": ("Toon", "Anton"),
    "Theodorus": ("Theo", "Dirk"),
    "Franciscus": ("Frans", "Sus"),
    "Johanna": ("Jo", "Anneke", "Hanneke"),
    "Wilhelmina": ("Wilma", "Mien"),
    "Cornelia": ("Corrie", "Nel"),
    "Elisabeth": ("Els", "Lies", "Bep"),
    "Catharina": ("Toos", "Rina", "Katrien"),
    "Geertruida": ("Truus", "Trudy"),
    "Margaretha": ("Greet", "Margriet"),
    "Petronella": ("Nel", "Ellie"),
    "Hendrika": ("Riek", "Henny"),
    "Jozef": ("Jef", "Jos"),
    "Ludovicus": ("Louis", "Lode"),
    "Godelieve": ("Lieve",),
    "Stefaan": ("Steef",),
}
